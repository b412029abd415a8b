package s3store

import (
	"bytes"
	"cmp"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/mlsbackup/mlsbackup/uploader"
)

// abortTimeout bounds the clean-up of a failed multipart upload, which
// runs even when the caller's context has ended.
const abortTimeout = 30 * time.Second

// part is one chunk on its way to UploadPart.
type part struct {
	num    int32
	data   []byte
	crc    string  // CRC32C of data (encodeCRC), or "" if not yet computed
	pooled *[]byte // returned to the pool after the upload, if set
}

// putMultipart uploads first (if not nil) and then the rest of body in
// parts, Concurrency at a time, and completes the upload. Any failure or
// cancellation aborts it, so nothing becomes visible.
//
// So that the server has work as early as possible, the upload is created
// while the first part is being read, and without first the first part is
// MinPartSize: when reading body is costly (an encrypting reader), the
// server otherwise waits for a whole part before anything is sent.
func (s *Store) putMultipart(ctx context.Context, key string, first []byte, body io.Reader, size int64, ifNoneMatch bool) (err error) {
	partSize := s.cfg.PartSize
	if size > partSize*maxParts {
		partSize = (size + maxParts - 1) / maxParts
		if partSize > MaxPartSize {
			return fmt.Errorf("put %s: %d bytes is more than S3 allows", s.loc(key), size)
		}
	}
	firstSize := partSize
	if first == nil && size >= 0 && size <= partSize*(maxParts-1) {
		firstSize = min(partSize, MinPartSize)
	}
	up := &pendingUpload{created: make(chan struct{})}
	go func() {
		defer close(up.created)
		up.err = s.retry(ctx, func(ctx context.Context, _ int) error {
			// The request itself is not cut short by a cancellation: one
			// the server completed would leave an upload whose id we never
			// learn and so never abort.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
			defer cancel()
			out, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
				Bucket: aws.String(s.cfg.Bucket),
				Key:    aws.String(s.fullKey(key)),
				// Every part carries its CRC32C (checksum.go).
				ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c,
			})
			if err == nil {
				up.id = aws.ToString(out.UploadId)
			}
			return err
		})
		if up.err != nil {
			up.err = s.wrap("put", key, up.err)
		}
	}()
	defer func() {
		<-up.created
		if err != nil && up.id != "" {
			if aerr := s.abort(ctx, key, up.id); aerr != nil {
				err = fmt.Errorf("%w (and %w)", err, aerr)
			}
		}
	}()

	parts, err := s.uploadParts(ctx, key, up, first, body, firstSize, partSize)
	if err != nil {
		return err
	}
	return s.complete(ctx, key, up.id, parts, ifNoneMatch)
}

// pendingUpload is a multipart upload being created: id and err are set
// when created is closed.
type pendingUpload struct {
	created chan struct{}
	id      string
	err     error
}

// wait returns the upload id once the upload is created.
func (u *pendingUpload) wait(ctx context.Context) (string, error) {
	select {
	case <-u.created:
		return u.id, u.err
	case <-ctx.Done():
		return "", context.Cause(ctx)
	}
}

// uploadParts reads body into part buffers and uploads them with
// Concurrency workers. At most Concurrency+1 buffers exist at a time: one
// being filled, the others being sent. The first part read from body is
// firstSize bytes, the others partSize.
func (s *Store) uploadParts(ctx context.Context, key string, up *pendingUpload, first []byte, body io.Reader, firstSize, partSize int64) ([]types.CompletedPart, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan part)
	var (
		mu       sync.Mutex
		done     []types.CompletedPart
		wg       sync.WaitGroup
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel(err)
	}
	for range s.cfg.Concurrency {
		wg.Go(func() {
			for p := range jobs {
				uploadID, err := up.wait(ctx)
				if err == nil {
					var cp types.CompletedPart
					cp, err = s.uploadPart(ctx, key, uploadID, p)
					if err == nil {
						mu.Lock()
						done = append(done, cp)
						mu.Unlock()
					}
				}
				s.release(p)
				if err != nil {
					fail(err)
				}
			}
		})
	}
	send := func(p part) bool {
		select {
		case jobs <- p:
			return true
		case <-ctx.Done():
			s.release(p)
			return false
		}
	}
	produce := func() {
		num := int32(0)
		if first != nil {
			num++
			if !send(part{num: num, data: first}) {
				return
			}
		}
		for {
			if num == maxParts {
				fail(fmt.Errorf("put %s: more than %d parts of %d bytes", s.loc(key), maxParts, partSize))
				return
			}
			p := s.buffer(partSize)
			want := partSize
			if num == 0 {
				want = firstSize
			}
			n, crc, rerr := readFullCRC(body, p.data[:want])
			if n > 0 {
				num++
				p.num, p.data, p.crc = num, p.data[:n], encodeCRC(crc)
				if !send(p) {
					return
				}
			} else {
				s.release(p)
			}
			if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
				return
			}
			if rerr != nil {
				fail(fmt.Errorf("put %s: read: %w", s.loc(key), rerr))
				return
			}
		}
	}
	produce()
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := context.Cause(ctx); err != nil {
		return nil, fmt.Errorf("put %s: %w", s.loc(key), err)
	}
	// A body that ended before any part was sent still needs the upload.
	if _, err := up.wait(ctx); err != nil {
		return nil, err
	}
	slices.SortFunc(done, func(a, b types.CompletedPart) int { return cmp.Compare(*a.PartNumber, *b.PartNumber) })
	return done, nil
}

// uploadPart sends one part, with UNSIGNED-PAYLOAD and its CRC32C
// (checksum.go), and returns it as CompleteMultipartUpload lists it.
func (s *Store) uploadPart(ctx context.Context, key, uploadID string, p part) (types.CompletedPart, error) {
	crc := p.crc
	if crc == "" {
		crc = crc32cBase64(p.data)
	}
	var etag string
	err := s.retry(ctx, func(ctx context.Context, _ int) error {
		out, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket:         aws.String(s.cfg.Bucket),
			Key:            aws.String(s.fullKey(key)),
			UploadId:       aws.String(uploadID),
			PartNumber:     aws.Int32(p.num),
			Body:           bytes.NewReader(p.data), // rewound for every attempt
			ContentLength:  aws.Int64(int64(len(p.data))),
			ChecksumCRC32C: aws.String(crc),
		}, unsignedPayload)
		if err == nil {
			etag = aws.ToString(out.ETag)
		}
		return err
	})
	cp := types.CompletedPart{PartNumber: aws.Int32(p.num), ETag: aws.String(etag), ChecksumCRC32C: aws.String(crc)}
	return cp, s.wrap("put part "+strconv.Itoa(int(p.num))+" of", key, err)
}

// complete makes the upload visible as one object.
func (s *Store) complete(ctx context.Context, key, uploadID string, parts []types.CompletedPart, ifNoneMatch bool) error {
	in := &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(s.cfg.Bucket),
		Key:             aws.String(s.fullKey(key)),
		UploadId:        aws.String(uploadID),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}
	if ifNoneMatch {
		in.IfNoneMatch = aws.String("*")
	}
	err := s.retry(ctx, func(ctx context.Context, attempt int) error {
		_, err := s.client.CompleteMultipartUpload(ctx, in)
		if err != nil && attempt > 1 && (sentinel(err) == uploader.ErrExists || isCode(err, "NoSuchUpload")) {
			// An earlier attempt may have completed and lost its
			// response: then the object there is ours.
			if etag, ok := multipartETag(parts); ok && s.hasETag(ctx, key, etag) {
				return nil
			}
		}
		return err
	})
	return s.wrap("put", key, err)
}

// multipartETag is the ETag S3 gives a multipart object: the MD5 of the
// parts' binary MD5s, a dash and the part count. ok is false if a part
// ETag is not an MD5 (e.g. with SSE-KMS).
func multipartETag(parts []types.CompletedPart) (etag string, ok bool) {
	h := md5.New()
	for _, p := range parts {
		sum, err := hex.DecodeString(strings.Trim(aws.ToString(p.ETag), `"`))
		if err != nil || len(sum) != md5.Size {
			return "", false
		}
		h.Write(sum)
	}
	return hex.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts)), true
}

// abort discards the upload's parts, also after ctx has ended.
func (s *Store) abort(ctx context.Context, key, uploadID string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	err := s.retry(ctx, func(ctx context.Context, _ int) error {
		_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
			Bucket:   aws.String(s.cfg.Bucket),
			Key:      aws.String(s.fullKey(key)),
			UploadId: aws.String(uploadID),
		})
		if isCode(err, "NoSuchUpload") {
			return nil
		}
		return err
	})
	if err != nil {
		return s.wrap("abort upload of", key, err)
	}
	return nil
}

// buffer returns a part buffer of partSize bytes, pooled when it has the
// configured size.
func (s *Store) buffer(partSize int64) part {
	if partSize != s.cfg.PartSize {
		return part{data: make([]byte, partSize)}
	}
	b := s.bufs.Get().(*[]byte)
	return part{data: (*b)[:partSize], pooled: b}
}

// release returns a part's buffer to the pool.
func (s *Store) release(p part) {
	if p.pooled != nil {
		s.bufs.Put(p.pooled)
	}
}

// AbortUploads aborts the unfinished multipart uploads under the store's
// prefix, and those of the named keys, that started more than olderThan
// ago: parts left behind when a Put could not abort, e.g. because the
// server was down. They are never visible as objects, but they use
// space. (MinIO lists uploads reliably only by exact key, hence keys; it
// also expires stale uploads itself after a day.) olderThan must exceed
// the longest Put, or uploads still in progress fail. It returns how many
// uploads it aborted.
func (s *Store) AbortUploads(ctx context.Context, olderThan time.Duration, keys ...string) (int, error) {
	cutoff := time.Now().Add(-olderThan)
	prefixes := []string{s.cfg.Prefix}
	for _, k := range keys {
		prefixes = append(prefixes, s.fullKey(k))
	}
	seen := map[string]bool{}
	n := 0
	for _, prefix := range prefixes {
		in := &s3.ListMultipartUploadsInput{Bucket: aws.String(s.cfg.Bucket), Prefix: aws.String(prefix)}
		for {
			var out *s3.ListMultipartUploadsOutput
			err := s.retry(ctx, func(ctx context.Context, _ int) error {
				var err error
				out, err = s.client.ListMultipartUploads(ctx, in)
				return err
			})
			if err != nil {
				return n, s.wrap("list uploads in", strings.TrimPrefix(prefix, s.cfg.Prefix), err)
			}
			for _, u := range out.Uploads {
				id := aws.ToString(u.UploadId)
				if seen[id] || (u.Initiated != nil && u.Initiated.After(cutoff)) {
					continue
				}
				seen[id] = true
				key := strings.TrimPrefix(aws.ToString(u.Key), s.cfg.Prefix)
				if err := s.abort(ctx, key, id); err != nil {
					return n, err
				}
				n++
			}
			if !aws.ToBool(out.IsTruncated) {
				break
			}
			in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
		}
	}
	return n, nil
}
