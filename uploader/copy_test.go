package uploader

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestHeadNamesNewestByKeyAfterOlderUpload: a snapshot older than its
// group's newest, written after it (as rekey and copy do, or an agent
// after a forced rollback), must not become what the head names: readers
// take the newest by key, and a head naming an older one fails their
// head check ("newer manifests were deleted").
func TestHeadNamesNewestByKeyAfterOlderUpload(t *testing.T) {
	ctx := context.Background()
	k := newTestKeys(t)
	b := newTestBackup(t, newMemStore(), k, nil)
	newest := mustUpload(t, b, "g", 10, randomBytes(t, 100))
	older := mustUpload(t, b, "g", 5, randomBytes(t, 100))
	h, err := b.WriteHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if e := h.Groups[newest.GroupHex()]; e.Epoch != 10 || e.ID != newest.ID {
		t.Errorf("head names epoch %d (%s), want the newest, epoch 10", e.Epoch, e.ID)
	}
	if older.Prev == nil || *older.Prev != newest.link() {
		t.Errorf("the older snapshot's prev %v, want the manifest written before it", older.Prev)
	}
	latest, err := b.ListLatest(ctx)
	if err != nil || len(latest) != 1 {
		t.Fatal(latest, err)
	}
	if err := HeadError(h, newest.GroupID, latest, time.Now()); err != nil {
		t.Errorf("head check of what restore --all selects: %v", err)
	}
}

// TestLoadChainFromContinuesAfterEverySequence: manifests written after
// the newest head with sequences above each group's newest (an
// interrupted rekey) must not have their sequences taken again.
func TestLoadChainFromContinuesAfterEverySequence(t *testing.T) {
	ctx := context.Background()
	k := newTestKeys(t)
	st := newMemStore()
	b := newTestBackup(t, st, k, nil)
	mustUpload(t, b, "g", 10, randomBytes(t, 100))
	if _, err := b.WriteHead(ctx); err != nil {
		t.Fatal(err)
	}
	late := mustUpload(t, b, "g", 5, randomBytes(t, 100)) // no head after it
	next := newTestBackup(t, st, k, nil)
	ms, err := next.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := next.LoadChainFrom(ctx, ms); err != nil {
		t.Fatal(err)
	}
	m := mustUpload(t, next, "g", 6, randomBytes(t, 100))
	if m.Sequence <= late.Sequence || m.Prev == nil || *m.Prev != late.link() {
		t.Errorf("next manifest: sequence %d, prev %v; want after %d, naming it", m.Sequence, m.Prev, late.Sequence)
	}
	all, err := next.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if errs := ChainErrors(all); len(errs) != 0 {
		t.Errorf("chain: %v", errs)
	}
}

// TestCopyFromRefusesUnsigned: a copy never signs what nobody signed.
func TestCopyFromRefusesUnsigned(t *testing.T) {
	k := newTestKeys(t)
	src := newTestBackup(t, newMemStore(), k, func(o *Options) { o.SigningKey, o.AllowUnsigned = nil, true })
	m := mustUpload(t, src, "g", 1, randomBytes(t, 100))
	dst := newTestBackup(t, newMemStore(), k, nil)
	if _, err := dst.CopyFrom(context.Background(), src, m); !errors.Is(err, ErrUnsigned) {
		t.Errorf("copy of an unsigned snapshot: %v, want ErrUnsigned", err)
	}
}
