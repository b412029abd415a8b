package uploader

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// overwritingStore ignores If-None-Match, as some S3-compatible servers do.
type overwritingStore struct{ *memStore }

func (s overwritingStore) Put(ctx context.Context, key string, r io.Reader, size int64, _ bool) error {
	return s.memStore.Put(ctx, key, r, size, false)
}

// TestProbe checks that a probe leaves nothing behind, that a store
// ignoring conditional creates fails it, and that a probe a crash left
// behind is invisible to listing and retention.
func TestProbe(t *testing.T) {
	ctx := t.Context()
	k := newTestKeys(t)
	st := newMemStore()
	b := newTestBackup(t, st, k, nil)
	if err := b.Probe(ctx); err != nil {
		t.Fatal(err)
	}
	if keys := st.keys(); len(keys) != 0 {
		t.Fatalf("probe left %v", keys)
	}

	bad := newTestBackup(t, overwritingStore{newMemStore()}, k, nil)
	err := bad.Probe(ctx)
	var pe *ProbeError
	if !errors.Is(err, ErrNoConditionalWrite) || !errors.As(err, &pe) || pe.Step != "overwrite" {
		t.Fatalf("probe on a store without conditional creates: %v", err)
	}

	mustUpload(t, b, "g1", 1, []byte("snapshot"))
	left := "test/prefix/check/0123456789abcdef.probe"
	if err := st.Put(ctx, left, bytes.NewReader([]byte("x")), 1, true); err != nil {
		t.Fatal(err)
	}
	refs, err := b.ListRefs(ctx, nil)
	if err != nil || len(refs) != 1 {
		t.Fatalf("ListRefs: %v, %v; want the one snapshot", refs, err)
	}
	rep, err := b.Prune(ctx, Retention{KeepLast: 1}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Unknown) != 0 || len(rep.Orphans) != 0 || len(rep.Deleted) != 0 {
		t.Errorf("prune saw the probe: %+v", rep)
	}
	if !strings.Contains(strings.Join(st.keys(), " "), left) {
		t.Errorf("prune deleted the probe")
	}
}
