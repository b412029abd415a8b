package s3store

import (
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mlsbackup/mlsbackup/uploader"
)

// TestPermanentErrors checks that refused credentials and a missing
// bucket map to the uploader sentinels, name the object and bucket, and
// are not retried.
func TestPermanentErrors(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Config)
		want error
	}{
		{"wrong secret", func(c *Config) { c.SecretAccessKey += "x" }, uploader.ErrAccessDenied},
		{"unknown access key", func(c *Config) { c.AccessKeyID = "AKNOSUCHKEY" }, uploader.ErrAccessDenied},
		{"missing bucket", func(c *Config) { c.Bucket = "no-such-bucket-" + strings.ToLower(t.Name()[:4]) }, uploader.ErrNoBucket},
	}
	for _, sv := range servers() {
		t.Run(sv.name, func(t *testing.T) {
			srv := sv.shared.Server(t)
			good := newTestStore(t, srv, nil)
			if err := good.Put(t.Context(), "exists", strings.NewReader("x"), 1, false); err != nil {
				t.Fatal(err)
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					var requests atomic.Int64
					s := newTestStore(t, srv, func(c *Config) {
						tc.edit(c)
						c.wrapHTTP = func(next s3.HTTPClient) s3.HTTPClient { return countingClient{&requests, next} }
					})
					bucket := s.Config().Bucket
					ctx := t.Context()
					ops := []struct {
						op  string
						key string
						run func() error
					}{
						{"put", "new-object", func() error {
							return s.Put(ctx, "new-object", strings.NewReader("data"), 4, false)
						}},
						{"put multipart", "new-large", func() error {
							return s.Put(ctx, "new-large", io.LimitReader(zeros{}, multipartSize), -1, true)
						}},
						{"get", "exists", func() error {
							r, err := s.Get(ctx, "exists")
							if err == nil {
								r.Close()
							}
							return err
						}},
						{"stat", "exists", func() error { _, err := s.Stat(ctx, "exists"); return err }},
						{"list", "some/prefix", func() error { _, err := s.List(ctx, "some/prefix"); return err }},
						{"delete", "exists", func() error { return s.Delete(ctx, "exists") }},
					}
					for _, op := range ops {
						before := requests.Load()
						err := op.run()
						if !errors.Is(err, tc.want) {
							t.Errorf("%s: got %v, want %v", op.op, err, tc.want)
							continue
						}
						msg := err.Error()
						if !strings.Contains(msg, op.key) || !strings.Contains(msg, bucket) {
							t.Errorf("%s: %q does not name key %q and bucket %q", op.op, msg, op.key, bucket)
						}
						// A HEAD's bodiless 404 is explained by one ListObjectsV2.
						if n := requests.Load() - before; n > 2 {
							t.Errorf("%s: %d requests; a permanent error must not be retried", op.op, n)
						}
					}
				})
			}
			if _, err := good.Stat(t.Context(), "exists"); err != nil {
				t.Fatalf("the refused delete removed the object: %v", err)
			}
		})
	}
}

// zeros is an endless stream of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
