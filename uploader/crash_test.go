package uploader_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/testenv"
	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/s3store"
	"github.com/mlsbackup/mlsbackup/uploader/storetest"
)

// TestServerKilledMidUpload: MinIO is SIGKILLed while a 64 MiB snapshot
// streams in; the upload fails, nothing becomes visible to List after the
// restart, and the next attempt succeeds and verifies.
func TestServerKilledMidUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("starts its own MinIO; skipped with -short")
	}
	srv := testenv.MinIO(t)
	store := s3Store(t, srv, func(c *s3store.Config) { c.PartSize = s3store.MinPartSize; c.MaxAttempts = 2 })
	k := newKeyPair(t)
	b := newBackup(t, store, k, "agent-crash")
	const size = 64 << 20
	meta := uploader.SnapshotMeta{GroupID: []byte("crash-group"), Epoch: 1, Size: size}

	stream := storetest.NewStream(1, size)
	var once sync.Once
	stream.OnRead(func(total int64) {
		if total > 20<<20 {
			once.Do(func() {
				if err := srv.Kill(); err != nil {
					t.Errorf("kill: %v", err)
				}
			})
		}
	})
	if _, err := b.Upload(t.Context(), meta, stream); err == nil {
		t.Fatal("upload succeeded although the server was killed")
	} else if !errors.As(err, new(*uploader.ObjectError)) {
		t.Errorf("upload error %v does not name the object", err)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	ms, err := b.List(t.Context(), nil)
	if err != nil || len(ms) != 0 {
		t.Fatalf("after the crash List shows %d snapshots (%v), want none", len(ms), err)
	}
	m, err := b.Upload(t.Context(), meta, storetest.NewStream(2, size))
	if err != nil {
		t.Fatalf("upload after restart: %v", err)
	}
	ms, err = b.List(t.Context(), nil)
	if err != nil || len(ms) != 1 || ms[0].Key != m.Key {
		t.Fatalf("after the retry List shows %d snapshots (%v), want 1", len(ms), err)
	}
	if err := b.Verify(t.Context(), ms[0]); err != nil {
		t.Fatal(err)
	}
}
