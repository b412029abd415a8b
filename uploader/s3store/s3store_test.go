package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mlsbackup/mlsbackup/internal/testenv"
	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/storetest"
)

// servers lists the shared servers tests run against.
func servers() []struct {
	name   string
	shared *testenv.Shared
} {
	return []struct {
		name   string
		shared *testenv.Shared
	}{{"minio", sharedMinIO}, {"versitygw", sharedVersity}}
}

// multipartSize is above two parts of the test part size.
const multipartSize = 2*MinPartSize + 4321

func TestPrefix(t *testing.T) {
	srv := sharedMinIO.Server(t)
	ctx := t.Context()
	s := newTestStore(t, srv, func(c *Config) { c.Prefix = "/backups/host-1/" })
	if err := s.Put(ctx, "g/1", strings.NewReader("x"), 1, false); err != nil {
		t.Fatal(err)
	}
	raw, err := srv.Client().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(srv.Bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(raw.Contents) != 1 || aws.ToString(raw.Contents[0].Key) != "backups/host-1/g/1" {
		t.Fatalf("bucket holds %d objects, want exactly backups/host-1/g/1", len(raw.Contents))
	}
	got, err := s.List(ctx, "g/")
	if err != nil || len(got) != 1 || got[0].Key != "g/1" {
		t.Fatalf("list: %+v, %v; want g/1", got, err)
	}
	other := newTestStore(t, srv, func(c *Config) { c.Prefix = "backups/host-2" })
	if got, err := other.List(ctx, ""); err != nil || len(got) != 0 {
		t.Fatalf("another prefix lists %+v, %v; want nothing", got, err)
	}
	if got, want := s.String(), "s3://"+srv.Bucket+"/backups/host-1/ at "+srv.Endpoint; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

func TestConditionalMultipart(t *testing.T) {
	for _, sv := range servers() {
		t.Run(sv.name, func(t *testing.T) {
			srv := sv.shared.Server(t)
			s := newTestStore(t, srv, nil)
			ctx := t.Context()
			const key = "mp/claim"
			first := storetest.NewStream(10, multipartSize)
			if err := s.Put(ctx, key, first, -1, true); err != nil {
				t.Fatal(err)
			}
			err := s.Put(ctx, key, storetest.NewStream(11, multipartSize), multipartSize, true)
			if !errors.Is(err, uploader.ErrExists) || !strings.Contains(err.Error(), key) {
				t.Fatalf("second conditional multipart put: got %v, want ErrExists naming %s", err, key)
			}
			assertContent(t, s, key, first.Sum(), multipartSize)
			assertNoUploads(t, srv, key)
		})
	}
}

func TestConcurrentConditionalMultipart(t *testing.T) {
	for _, sv := range servers() {
		t.Run(sv.name, func(t *testing.T) {
			srv := sv.shared.Server(t)
			s := newTestStore(t, srv, func(c *Config) { c.Concurrency = 1 })
			ctx := t.Context()
			const writers, key = 3, "mp/race"
			errs := make([]error, writers)
			sums := make([][]byte, writers)
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					src := storetest.NewStream(uint64(20+w), multipartSize)
					errs[w] = s.Put(ctx, key, src, multipartSize, true)
					sums[w] = src.Sum()
				})
			}
			wg.Wait()
			winner := -1
			for w, err := range errs {
				switch {
				case err == nil && winner >= 0:
					t.Fatalf("writers %d and %d both won", winner, w)
				case err == nil:
					winner = w
				case !errors.Is(err, uploader.ErrExists):
					t.Fatalf("writer %d: %v", w, err)
				}
			}
			if winner < 0 {
				t.Fatal("no writer won")
			}
			assertContent(t, s, key, sums[winner], multipartSize)
			assertNoUploads(t, srv, key)
		})
	}
}

func TestCancelAbortsUpload(t *testing.T) {
	srv := sharedMinIO.Server(t)
	s := newTestStore(t, srv, nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	src := storetest.NewStream(3, 8*MinPartSize)
	src.OnRead(func(total int64) {
		if total > 3*MinPartSize {
			cancel()
		}
	})
	err := s.Put(ctx, "cancelled", src, -1, false)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	assertNoUploads(t, srv, "cancelled")
}

func TestSizeLimits(t *testing.T) {
	srv := sharedMinIO.Server(t)
	s := newTestStore(t, srv, nil)
	ctx := t.Context()
	tests := []struct {
		name      string
		announced int64
		actual    int64
	}{
		{"multipart-short", multipartSize, multipartSize - 1},
		{"multipart-long", multipartSize, multipartSize + 1},
		{"single-long", 100, 101},
	}
	for _, tc := range tests {
		err := s.Put(ctx, tc.name, storetest.NewStream(4, tc.actual), tc.announced, false)
		if !errors.Is(err, errSize) {
			t.Errorf("%s: got %v, want a size error", tc.name, err)
		}
		if _, err := s.Stat(ctx, tc.name); !errors.Is(err, uploader.ErrNotFound) {
			t.Errorf("%s: stat got %v, want ErrNotFound", tc.name, err)
		}
	}
	assertNoUploads(t, srv, "multipart-short", "multipart-long")
}

func TestCredentialChain(t *testing.T) {
	srv := sharedMinIO.Server(t)
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	content := fmt.Sprintf("[mlsb]\naws_access_key_id = %s\naws_secret_access_key = %s\n", srv.AccessKey, srv.SecretKey)
	if err := os.WriteFile(creds, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		cfg  func(*Config)
	}{
		{"env", map[string]string{"AWS_ACCESS_KEY_ID": srv.AccessKey, "AWS_SECRET_ACCESS_KEY": srv.SecretKey}, nil},
		{"profile", map[string]string{"AWS_SHARED_CREDENTIALS_FILE": creds}, func(c *Config) { c.Profile = "mlsb" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"} {
				t.Setenv(k, "")
			}
			t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "no-config"))
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "no-credentials"))
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			s := newTestStore(t, srv, func(c *Config) {
				c.AccessKeyID, c.SecretAccessKey = "", ""
				if tc.cfg != nil {
					tc.cfg(c)
				}
			})
			if err := s.Put(t.Context(), "chain/"+tc.name, strings.NewReader("x"), 1, false); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestStringHidesSecrets(t *testing.T) {
	cfg := Config{
		Bucket: "b", Endpoint: "http://user:pw@127.0.0.1:9000/?X-Amz-Signature=sig",
		AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI", SessionToken: "tokentoken",
	}
	s, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{s.String(), cfg.String(), fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg), fmt.Sprint(s.Config())} {
		for _, secret := range []string{"AKIDEXAMPLE", "wJalrXUtnFEMI", "tokentoken", "pw", "sig"} {
			if strings.Contains(out, secret) {
				t.Errorf("%q shows %q", out, secret)
			}
		}
	}
	if !strings.Contains(s.String(), "s3://b/") || !strings.Contains(s.String(), "127.0.0.1:9000") {
		t.Errorf("String() = %q, want bucket and endpoint", s.String())
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		field string
	}{
		{"no bucket", Config{}, "bucket"},
		{"secret without key", Config{Bucket: "b", SecretAccessKey: "s"}, "access_key_id"},
		{"key without secret", Config{Bucket: "b", AccessKeyID: "k"}, "secret_access_key"},
		{"bad endpoint", Config{Bucket: "b", Endpoint: "127.0.0.1:9000"}, "endpoint"},
		{"small parts", Config{Bucket: "b", PartSize: 1 << 20}, "part_size"},
		{"concurrency", Config{Bucket: "b", Concurrency: -1}, "concurrency"},
		{"attempts", Config{Bucket: "b", MaxAttempts: 100}, "max_attempts"},
	}
	for _, tc := range tests {
		_, err := New(t.Context(), tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: got %v, want an error naming %s", tc.name, err, tc.field)
		}
	}
}

// assertContent checks an object's length and SHA-256.
func assertContent(t *testing.T, s uploader.ObjectStore, key string, sum []byte, size int64) {
	t.Helper()
	r, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, n, err := storetest.HashReader(r)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	if n != size || !bytes.Equal(got, sum) {
		t.Fatalf("%s: %d bytes with SHA-256 %x, want %d bytes with %x", key, n, got, size, sum)
	}
}

// assertNoUploads checks that no multipart upload is pending in the
// bucket, and for each key by name: MinIO lists uploads reliably only
// for an exact key.
func assertNoUploads(t *testing.T, srv *testenv.Server, keys ...string) {
	t.Helper()
	prefixes := []*string{nil}
	for _, k := range keys {
		prefixes = append(prefixes, aws.String(k))
	}
	for _, p := range prefixes {
		out, err := srv.Client().ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: aws.String(srv.Bucket), Prefix: p})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Uploads) != 0 {
			t.Fatalf("%d multipart uploads left pending, e.g. %s", len(out.Uploads), aws.ToString(out.Uploads[0].Key))
		}
	}
}
