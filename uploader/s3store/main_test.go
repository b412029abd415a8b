package s3store

import (
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/testenv"
)

// One MinIO and one versitygw serve every test of the package that does
// not kill its server; each test gets a fresh bucket.
var (
	sharedMinIO   = testenv.NewSharedMinIO()
	sharedVersity = testenv.NewSharedVersity()
)

func TestMain(m *testing.M) {
	defer sharedVersity.Close()
	defer sharedMinIO.Close()
	m.Run()
}

// testConfig is a Config for srv with small parts and quick retries.
func testConfig(srv *testenv.Server) Config {
	return Config{
		Bucket:          srv.Bucket,
		Region:          srv.Region,
		Endpoint:        srv.Endpoint,
		PathStyle:       true,
		AccessKeyID:     srv.AccessKey,
		SecretAccessKey: srv.SecretKey,
		PartSize:        MinPartSize,
		Concurrency:     3,
		MaxAttempts:     4,
		RetryBaseDelay:  20 * time.Millisecond,
		RetryMaxDelay:   200 * time.Millisecond,
	}
}

// newTestStore opens a Store on srv with cfg, after edit changes it.
func newTestStore(t testing.TB, srv *testenv.Server, edit func(*Config)) *Store {
	t.Helper()
	cfg := testConfig(srv)
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
