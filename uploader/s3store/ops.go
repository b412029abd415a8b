package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mlsbackup/mlsbackup/uploader"
)

// Get implements [uploader.ObjectStore]. If the connection breaks while
// the body is read, the reader resumes where it stopped (a ranged GET of
// the same ETag), within the retry limit.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, fmt.Errorf("get %s: %w", s.loc(key), err)
	}
	r := &objectReader{s: s, ctx: ctx, key: key}
	if err := r.open(); err != nil {
		return nil, s.wrap("get", key, r.notFoundOrNoBucket(err))
	}
	return r, nil
}

// Stat implements [uploader.ObjectStore].
func (s *Store) Stat(ctx context.Context, key string) (uploader.ObjectInfo, error) {
	if err := checkKey(key); err != nil {
		return uploader.ObjectInfo{}, fmt.Errorf("stat %s: %w", s.loc(key), err)
	}
	var out *s3.HeadObjectOutput
	err := s.retry(ctx, func(ctx context.Context, _ int) error {
		var err error
		out, err = s.client.HeadObject(ctx, &s3.HeadObjectInput{
			Bucket: aws.String(s.cfg.Bucket),
			Key:    aws.String(s.fullKey(key)),
		})
		return err
	})
	if err != nil {
		if sentinel(err) == uploader.ErrNotFound {
			// HEAD cannot tell a missing key from a missing bucket.
			err = s.explainNotFound(ctx, key, err)
		}
		return uploader.ObjectInfo{}, s.wrap("stat", key, err)
	}
	return uploader.ObjectInfo{
		Key:     key,
		Size:    aws.ToInt64(out.ContentLength),
		ModTime: aws.ToTime(out.LastModified),
	}, nil
}

// explainNotFound tells why a bodiless 404 (HEAD) happened: it lists
// the key's name, which answers with an error code if the bucket is
// missing or the credentials are unknown, and returns that error;
// otherwise err stands.
func (s *Store) explainNotFound(ctx context.Context, key string, err error) error {
	_, lerr := s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket:  aws.String(s.cfg.Bucket),
		Prefix:  aws.String(s.fullKey(key)),
		MaxKeys: aws.Int32(1),
	})
	if sen := sentinel(lerr); sen == uploader.ErrNoBucket || errors.Is(sen, uploader.ErrAccessDenied) {
		return lerr
	}
	return err
}

// List implements [uploader.ObjectStore].
func (s *Store) List(ctx context.Context, prefix string) ([]uploader.ObjectInfo, error) {
	in := &s3.ListObjectsV2Input{
		Bucket: aws.String(s.cfg.Bucket),
		Prefix: aws.String(s.fullKey(prefix)),
	}
	var infos []uploader.ObjectInfo
	for {
		var out *s3.ListObjectsV2Output
		err := s.retry(ctx, func(ctx context.Context, _ int) error {
			var err error
			out, err = s.client.ListObjectsV2(ctx, in)
			return err
		})
		if err != nil {
			return nil, s.wrap("list", prefix+"*", err)
		}
		for _, o := range out.Contents {
			infos = append(infos, uploader.ObjectInfo{
				Key:     strings.TrimPrefix(aws.ToString(o.Key), s.cfg.Prefix),
				Size:    aws.ToInt64(o.Size),
				ModTime: aws.ToTime(o.LastModified),
			})
		}
		if !aws.ToBool(out.IsTruncated) || aws.ToString(out.NextContinuationToken) == "" {
			break
		}
		in.ContinuationToken = out.NextContinuationToken
	}
	slices.SortFunc(infos, func(a, b uploader.ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return infos, nil
}

// Delete implements [uploader.ObjectStore].
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("delete %s: %w", s.loc(key), err)
	}
	err := s.retry(ctx, func(ctx context.Context, _ int) error {
		_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{
			Bucket: aws.String(s.cfg.Bucket),
			Key:    aws.String(s.fullKey(key)),
		})
		if sentinel(err) == uploader.ErrNotFound && !isCode(err, "NoSuchBucket") {
			return nil
		}
		return err
	})
	return s.wrap("delete", key, err)
}

// objectReader streams an object and resumes after a broken connection.
type objectReader struct {
	s    *Store
	ctx  context.Context
	key  string
	etag string
	body io.ReadCloser
	off  int64 // bytes handed out so far
	size int64 // of the whole object, -1 if unknown
	// resumes counts reconnections, bounded by MaxAttempts-1.
	resumes int
}

// open sends the GET, ranged from off after the first time.
func (r *objectReader) open() error {
	in := &s3.GetObjectInput{
		Bucket: aws.String(r.s.cfg.Bucket),
		Key:    aws.String(r.s.fullKey(r.key)),
	}
	if r.etag != "" {
		in.IfMatch = aws.String(r.etag)
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", r.off))
	}
	return r.s.retry(r.ctx, func(ctx context.Context, _ int) error {
		out, err := r.s.client.GetObject(ctx, in)
		if err != nil {
			return err
		}
		if r.etag == "" {
			r.etag = aws.ToString(out.ETag)
			r.size = -1 // unknown: trust the end of the stream
			if out.ContentLength != nil {
				r.size = *out.ContentLength
			}
		}
		r.body = out.Body
		return nil
	})
}

// notFoundOrNoBucket keeps NoSuchBucket apart from NoSuchKey.
func (r *objectReader) notFoundOrNoBucket(err error) error {
	if sentinel(err) == uploader.ErrNotFound && !isCode(err, "NoSuchKey") {
		return r.s.explainNotFound(r.ctx, r.key, err)
	}
	return err
}

// Read implements io.Reader.
func (r *objectReader) Read(p []byte) (int, error) {
	for {
		if r.body == nil {
			return 0, fmt.Errorf("get %s: read after close or failure", r.s.loc(r.key))
		}
		n, err := r.body.Read(p)
		r.off += int64(n)
		if err == nil || (err == io.EOF && (r.size < 0 || r.off == r.size)) {
			return n, err
		}
		if err == io.EOF {
			err = fmt.Errorf("%w: got %d of %d bytes", io.ErrUnexpectedEOF, r.off, r.size)
		}
		if r.ctx.Err() != nil || !transient(err) || r.resumes+1 >= r.s.cfg.MaxAttempts || r.etag == "" {
			return n, r.s.wrap("get", r.key, err)
		}
		_ = r.body.Close()
		r.body = nil
		r.resumes++
		if oerr := r.open(); oerr != nil {
			return n, r.s.wrap("get", r.key, fmt.Errorf("resume at byte %d: %w (after %w)", r.off, oerr, err))
		}
		if n > 0 {
			return n, nil
		}
	}
}

// Close implements io.Closer.
func (r *objectReader) Close() error {
	if r.body == nil {
		return nil
	}
	err := r.body.Close()
	r.body = nil
	return err
}
