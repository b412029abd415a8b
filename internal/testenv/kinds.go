package testenv

import (
	"context"
	"testing"
)

// minioKind runs a single-drive MinIO with the browser, update checks and
// most background work off, and a small memory limit.
func minioKind() kind {
	return kind{
		name:   "minio",
		bin:    "minio",
		region: "us-east-1",
		args: func(addr, consoleAddr, dir string) []string {
			return []string{"server", "--quiet", "--address", addr, "--console-address", consoleAddr, dir}
		},
		env: func(access, secret string) []string {
			return []string{
				"MINIO_ROOT_USER=" + access,
				"MINIO_ROOT_PASSWORD=" + secret,
				"MINIO_BROWSER=off",
				"MINIO_UPDATE=off",
				"MINIO_CI_CD=1",
				"MINIO_MEMLIMIT=512MiB",
				"MINIO_SCANNER_SPEED=slowest",
				"GOMAXPROCS=2",
			}
		},
		healthPath: "/minio/health/ready",
	}
}

// versityKind runs versitygw's posix backend, a second, independent S3
// implementation.
func versityKind() kind {
	return kind{
		name:   "versitygw",
		bin:    "versitygw",
		region: "us-east-1",
		args: func(addr, _, dir string) []string {
			return []string{"--port", addr, "--quiet", "--keep-alive", "--health", "/health", "posix", dir}
		},
		env: func(access, secret string) []string {
			return []string{"ROOT_ACCESS_KEY_ID=" + access, "ROOT_SECRET_ACCESS_KEY=" + secret}
		},
		healthPath: "/health",
	}
}

// MinIO starts a MinIO server for this test alone, with a fresh bucket,
// and kills it when the test ends. It fails the test if the minio binary
// is missing.
func MinIO(t testing.TB) *Server {
	t.Helper()
	return dedicated(t, minioKind())
}

// Versity starts a versitygw server (posix backend) for this test alone,
// with a fresh bucket, and kills it when the test ends.
func Versity(t testing.TB) *Server {
	t.Helper()
	return dedicated(t, versityKind())
}

// StartMinIO starts a MinIO server with its data under dir, outside any
// test (e.g. for benchmarks from TestMain). Stop it with [Server.Stop].
func StartMinIO(ctx context.Context, dir string) (*Server, error) {
	return startServer(ctx, minioKind(), dir)
}

// StartVersity starts a versitygw server with its data under dir, outside
// any test. Stop it with [Server.Stop].
func StartVersity(ctx context.Context, dir string) (*Server, error) {
	return startServer(ctx, versityKind(), dir)
}

// Stop kills the server process group and waits for it to exit. On a
// server handed out by a [Shared] it does nothing: [Shared.Close] stops it.
func (s *Server) Stop() {
	if !s.proc.shared {
		s.proc.kill()
	}
}
