package uploader

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func TestUploadRoundTrip(t *testing.T) {
	sizes := []int{0, 1, 1000, ageChunkSize - 1, ageChunkSize, ageChunkSize + 1, 3 * ageChunkSize, 200_000}
	for _, n := range sizes {
		for _, known := range []bool{true, false} {
			store := newMemStore()
			k := newTestKeys(t)
			b := newTestBackup(t, store, k, nil)
			data := randomBytes(t, n)
			meta := SnapshotMeta{GroupID: []byte("group-1"), Epoch: 7, Format: "test/1", EpochAuthenticator: []byte{1, 2, 3}}
			if known {
				meta.Size = int64(n)
			}
			m, err := b.Upload(context.Background(), meta, iotest.HalfReader(bytes.NewReader(data)))
			if err != nil {
				t.Fatalf("size %d known %v: upload: %v", n, known, err)
			}
			obj := store.objs[m.DataKey]
			if got, want := m.CiphertextSize, int64(len(obj)); got != want {
				t.Errorf("size %d: manifest ciphertext size %d, object %d", n, got, want)
			}
			if got, want := m.CiphertextSHA256, sha256.Sum256(obj); got != want {
				t.Errorf("size %d: ciphertext sha mismatch", n)
			}
			if got, want := m.PlaintextSHA256, sha256.Sum256(data); got != want {
				t.Errorf("size %d: plaintext sha mismatch", n)
			}
			if m.PlaintextSize != int64(n) || m.Epoch != 7 || string(m.GroupID) != "group-1" || m.AgentID != "agent-a" {
				t.Errorf("size %d: manifest %+v", n, m)
			}
			ms, err := b.List(context.Background(), nil)
			if err != nil || len(ms) != 1 {
				t.Fatalf("size %d: list = %d manifests, %v; want 1", n, len(ms), err)
			}
			if !equalManifests(ms[0], m) {
				t.Errorf("size %d: listed manifest\n%+v\nwant\n%+v", n, ms[0], m)
			}
			if err := b.Verify(context.Background(), ms[0]); err != nil {
				t.Errorf("size %d: verify: %v", n, err)
			}
			var out bytes.Buffer
			if err := b.Fetch(context.Background(), ms[0], &out); err != nil {
				t.Fatalf("size %d: fetch: %v", n, err)
			}
			if !bytes.Equal(out.Bytes(), data) {
				t.Errorf("size %d: fetched %d bytes differ from the %d uploaded", n, out.Len(), len(data))
			}
		}
	}
}

func equalManifests(a, b Manifest) bool {
	ea, err1 := encodeManifest(a, nil)
	eb, err2 := encodeManifest(b, nil)
	return err1 == nil && err2 == nil && bytes.Equal(ea, eb) && a.Key == b.Key && a.DataKey == b.DataKey
}

// failingReader returns n bytes and then err.
type failingReader struct {
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	k := min(len(p), f.n)
	f.n -= k
	return k, nil
}

func TestUploadFailuresLeaveNothingVisible(t *testing.T) {
	readErr := errors.New("disk on fire")
	tests := []struct {
		name string
		meta SnapshotMeta
		r    io.Reader
		want error
	}{
		{"declared size too small", SnapshotMeta{GroupID: []byte("g"), Size: 10}, bytes.NewReader(make([]byte, 100_000)), ErrBadMeta},
		{"declared size too large", SnapshotMeta{GroupID: []byte("g"), Size: 100_001}, bytes.NewReader(make([]byte, 100_000)), ErrBadMeta},
		{"reader fails", SnapshotMeta{GroupID: []byte("g")}, &failingReader{n: 150_000, err: readErr}, readErr},
		{"empty group", SnapshotMeta{}, bytes.NewReader(nil), ErrBadMeta},
		{"group too long", SnapshotMeta{GroupID: make([]byte, MaxGroupIDLen+1)}, bytes.NewReader(nil), ErrBadMeta},
		{"negative size", SnapshotMeta{GroupID: []byte("g"), Size: -1}, bytes.NewReader(nil), ErrBadMeta},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newMemStore()
			b := newTestBackup(t, store, newTestKeys(t), nil)
			_, err := b.Upload(context.Background(), tt.meta, tt.r)
			if !errors.Is(err, tt.want) {
				t.Fatalf("upload error = %v, want %v", err, tt.want)
			}
			ms, err := b.List(context.Background(), nil)
			if err != nil || len(ms) != 0 {
				t.Fatalf("list after failed upload = %d manifests, %v; want none", len(ms), err)
			}
			for _, k := range store.keys() {
				if k != b.layout.leaseKey() {
					t.Errorf("failed upload left object %s", k)
				}
			}
		})
	}
}

func TestUploadNeedsRecipientsAndAgent(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Options)
		want error
	}{
		{"no recipients", func(o *Options) { o.Recipients = nil }, ErrNoRecipients},
		{"no agent id", func(o *Options) { o.AgentID = "" }, ErrNoAgentID},
	}
	for _, tt := range tests {
		b := newTestBackup(t, newMemStore(), newTestKeys(t), tt.mod)
		_, err := b.Upload(context.Background(), SnapshotMeta{GroupID: []byte("g")}, bytes.NewReader([]byte("x")))
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestUploadManifestFailureLeavesOrphan(t *testing.T) {
	store := newMemStore()
	clock := newFakeClock()
	store.now = clock.Now
	b := newTestBackup(t, store, newTestKeys(t), func(o *Options) { o.Now = clock.Now })
	boom := errors.New("connection reset")
	store.failPut = func(key string) error {
		if bytes.HasSuffix([]byte(key), []byte(manifestName)) {
			return boom
		}
		return nil
	}
	_, err := b.Upload(context.Background(), SnapshotMeta{GroupID: []byte("g"), Epoch: 1}, bytes.NewReader([]byte("state")))
	if !errors.Is(err, boom) {
		t.Fatalf("upload error = %v, want %v", err, boom)
	}
	var oe *ObjectError
	if !errors.As(err, &oe) || oe.Key[len(oe.Key)-len(manifestName):] != manifestName {
		t.Fatalf("error %v does not name the manifest key", err)
	}
	if ms, err := b.List(context.Background(), nil); err != nil || len(ms) != 0 {
		t.Fatalf("list = %d, %v; want nothing visible", len(ms), err)
	}
	rep, err := b.Prune(context.Background(), Retention{KeepLast: 1}, false)
	if err != nil || len(rep.YoungOrphans) != 1 || len(rep.Orphans) != 0 {
		t.Fatalf("prune of a young orphan = %+v, %v; want it kept", rep, err)
	}
	clock.Advance(DefaultOrphanAge + 1)
	rep, err = b.Prune(context.Background(), Retention{KeepLast: 1, OrphanAge: DefaultOrphanAge}, false)
	if err != nil || len(rep.Orphans) != 1 {
		t.Fatalf("prune of an old orphan = %+v, %v; want it deleted", rep, err)
	}
	for _, k := range store.keys() {
		if k != b.layout.leaseKey() {
			t.Errorf("object %s left after pruning the orphan", k)
		}
	}
}

// exactStore reads exactly size bytes of a Put and never asks for EOF.
type exactStore struct{ *memStore }

func (s exactStore) Put(ctx context.Context, key string, r io.Reader, size int64, ifNoneMatch bool) error {
	if size >= 0 {
		r = io.LimitReader(r, size)
	}
	return s.memStore.Put(ctx, key, r, size, ifNoneMatch)
}

func TestUploadToStoreThatStopsAtSize(t *testing.T) {
	store := exactStore{newMemStore()}
	b := newTestBackup(t, store, newTestKeys(t), nil)
	data := randomBytes(t, 100_000)
	m := mustUpload(t, b, "g", 1, data)
	if err := b.Verify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}
