package uploader_test

import (
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/testenv"
	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/s3store"
)

// One MinIO and one versitygw serve the package's end-to-end tests and
// benchmarks; each test gets a fresh bucket.
var (
	sharedMinIO   = testenv.NewSharedMinIO()
	sharedVersity = testenv.NewSharedVersity()
)

func TestMain(m *testing.M) {
	defer sharedVersity.Close()
	defer sharedMinIO.Close()
	m.Run()
}

// allBackends lists the stores the end-to-end tests run against: the
// local directory and two independent S3 implementations.
func allBackends() []backend {
	return []backend{
		dirBackend(),
		{"minio", func(t *testing.T) uploader.ObjectStore { return s3Store(t, sharedMinIO.Server(t), nil) }},
		{"versitygw", func(t *testing.T) uploader.ObjectStore { return s3Store(t, sharedVersity.Server(t), nil) }},
	}
}

// s3Config is the s3store configuration for srv with quick retries.
func s3Config(srv *testenv.Server) s3store.Config {
	return s3store.Config{
		Bucket:          srv.Bucket,
		Region:          srv.Region,
		Endpoint:        srv.Endpoint,
		PathStyle:       true,
		AccessKeyID:     srv.AccessKey,
		SecretAccessKey: srv.SecretKey,
		MaxAttempts:     4,
		RetryBaseDelay:  20 * time.Millisecond,
		RetryMaxDelay:   200 * time.Millisecond,
	}
}

// s3Store opens an s3store on srv, after edit changes its config.
func s3Store(t testing.TB, srv *testenv.Server, edit func(*s3store.Config)) *s3store.Store {
	t.Helper()
	cfg := s3Config(srv)
	if edit != nil {
		edit(&cfg)
	}
	s, err := s3store.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
