package testenv

import (
	"bytes"
	"context"
	"errors"
	"io"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestLookBinMissing(t *testing.T) {
	_, err := LookBin("mlsbackup-no-such-tool")
	if !errors.Is(err, ErrMissingBinary) {
		t.Fatalf("got %v, want ErrMissingBinary", err)
	}
	if want := "scripts/test.sh"; !bytes.Contains([]byte(err.Error()), []byte(want)) {
		t.Fatalf("error %q does not mention %s", err, want)
	}
}

func TestServers(t *testing.T) {
	tests := []struct {
		name  string
		start func(testing.TB) *Server
	}{
		{"minio", MinIO},
		{"versitygw", Versity},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.start(t)
			if s.Kind != tc.name {
				t.Fatalf("kind %q, want %q", s.Kind, tc.name)
			}
			ctx := t.Context()
			putGet(ctx, t, s, "before", "one")

			pid := s.proc.cmd.Process.Pid
			if err := s.Kill(); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
				t.Fatalf("process %d still exists after Kill: %v", pid, err)
			}
			if _, err := s.Client().HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.Bucket)}); err == nil {
				t.Fatal("killed server still answers")
			}
			if err := s.Restart(); err != nil {
				t.Fatal(err)
			}
			if got := getString(ctx, t, s, "before"); got != "one" {
				t.Fatalf("after restart got %q, want %q", got, "one")
			}
			putGet(ctx, t, s, "after", "two")
		})
	}
}

func TestSharedHandsOutFreshBuckets(t *testing.T) {
	sh := NewSharedVersity()
	a := sh.Server(t)
	b := sh.Server(t)
	if a.Bucket == b.Bucket || a.Endpoint != b.Endpoint {
		t.Fatalf("buckets %q %q on %s %s: want two buckets on one server", a.Bucket, b.Bucket, a.Endpoint, b.Endpoint)
	}
	if err := a.Kill(); err == nil {
		t.Fatal("Kill of a shared server succeeded")
	}
	putGet(t.Context(), t, a, "k", "v")
	pid := a.proc.cmd.Process.Pid
	sh.Close()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("process %d still exists after Close: %v", pid, err)
	}
}

func putGet(ctx context.Context, t *testing.T, s *Server, key, val string) {
	t.Helper()
	_, err := s.Client().PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.Bucket), Key: aws.String(key), Body: bytes.NewReader([]byte(val)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := getString(ctx, t, s, key); got != val {
		t.Fatalf("got %q, want %q", got, val)
	}
}

func getString(ctx context.Context, t *testing.T, s *Server, key string) string {
	t.Helper()
	out, err := s.Client().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
