package s3store

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mlsbackup/mlsbackup/uploader"
)

// Put implements [uploader.ObjectStore]. It fails, storing nothing, if
// size is not -1 and r yields a different number of bytes.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, ifNoneMatch bool) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("put %s: %w", s.loc(key), err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", s.loc(key), err)
	}
	body := io.Reader(ctxReader{ctx: ctx, r: r})
	if size >= 0 {
		body = &exactReader{r: body, remaining: size, size: size}
	}
	switch {
	case size >= 0 && size <= s.cfg.PartSize:
		buf := make([]byte, size)
		_, crc, err := readFullCRC(body, buf)
		if err != nil {
			return fmt.Errorf("put %s: read: %w", s.loc(key), err)
		}
		if err := expectEOF(body); err != nil {
			return fmt.Errorf("put %s: read: %w", s.loc(key), err)
		}
		return s.putObject(ctx, key, buf, encodeCRC(crc), ifNoneMatch)
	case size < 0:
		first, err := readUpTo(body, s.cfg.PartSize)
		if err != nil {
			return fmt.Errorf("put %s: read: %w", s.loc(key), err)
		}
		if int64(len(first)) < s.cfg.PartSize {
			return s.putObject(ctx, key, first, "", ifNoneMatch)
		}
		return s.putMultipart(ctx, key, first, body, size, ifNoneMatch)
	default:
		return s.putMultipart(ctx, key, nil, body, size, ifNoneMatch)
	}
}

// putObject stores data with one PutObject. crc is the CRC32C of data
// as encodeCRC renders it, or "" to have it computed if needed.
func (s *Store) putObject(ctx context.Context, key string, data []byte, crc string, ifNoneMatch bool) error {
	in := &s3.PutObjectInput{
		Bucket:        aws.String(s.cfg.Bucket),
		Key:           aws.String(s.fullKey(key)),
		ContentLength: aws.Int64(int64(len(data))),
	}
	if ifNoneMatch {
		in.IfNoneMatch = aws.String("*")
	}
	var opts []func(*s3.Options)
	if len(data) >= unsignedMin {
		// checksum.go: CRC32C checked by the server instead of a
		// SHA-256 payload hash on both sides.
		if crc == "" {
			crc = crc32cBase64(data)
		}
		in.ChecksumCRC32C = aws.String(crc)
		opts = append(opts, unsignedPayload)
	}
	err := s.retry(ctx, func(ctx context.Context, attempt int) error {
		in.Body = bytes.NewReader(data) // each attempt sends from the start
		_, err := s.client.PutObject(ctx, in, opts...)
		if err != nil && attempt > 1 && ifNoneMatch && sentinel(err) == uploader.ErrExists {
			// An earlier attempt may have stored the object and lost
			// its response: then the object there is ours.
			sum := md5.Sum(data)
			if s.hasETag(ctx, key, hex.EncodeToString(sum[:])) {
				return nil
			}
		}
		return err
	})
	return s.wrap("put", key, err)
}

// hasETag reports whether the object under key exists with the ETag.
func (s *Store) hasETag(ctx context.Context, key, etag string) bool {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(s.cfg.Bucket),
		Key:    aws.String(s.fullKey(key)),
	})
	return err == nil && strings.Trim(aws.ToString(out.ETag), `"`) == etag
}

// ctxReader fails reads once ctx is done, so a stalled or endless source
// cannot keep a cancelled Put alive.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// errSize: the body was not as long as announced.
var errSize = errors.New("s3store: body length differs from the announced size")

// exactReader yields exactly size bytes of r and fails if r has fewer
// or more.
type exactReader struct {
	r         io.Reader
	remaining int64
	size      int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.remaining == 0 {
		var one [1]byte
		n, err := io.ReadFull(e.r, one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: more than %d bytes", errSize, e.size)
		}
		if err == io.EOF {
			return 0, io.EOF
		}
		return 0, err
	}
	if int64(len(p)) > e.remaining {
		p = p[:e.remaining]
	}
	n, err := e.r.Read(p)
	e.remaining -= int64(n)
	if err == io.EOF && e.remaining > 0 {
		return n, fmt.Errorf("%w: %d bytes, want %d", errSize, e.size-e.remaining, e.size)
	}
	if err == io.EOF {
		err = nil // the next Read checks that nothing follows
	}
	return n, err
}

// expectEOF checks that r has nothing more.
func expectEOF(r io.Reader) error {
	var one [1]byte
	n, err := r.Read(one[:])
	for n == 0 && err == nil {
		n, err = r.Read(one[:])
	}
	if n > 0 {
		return errors.New("more data than announced")
	}
	if err == io.EOF {
		return nil
	}
	return err
}

// readUpTo reads r until EOF or limit bytes, growing its buffer as data
// comes so that small objects of unknown size stay small in memory.
func readUpTo(r io.Reader, limit int64) ([]byte, error) {
	buf := make([]byte, 0, min(limit, 64<<10))
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(limit, int64(2*cap(buf))))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}
