package uploader

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLeaseRefusesOtherAgent(t *testing.T) {
	store := newMemStore()
	k := newTestKeys(t)
	a := newTestBackup(t, store, k, nil)
	mustUpload(t, a, "g", 1, []byte("a1"))

	b := newTestBackup(t, store, k, func(o *Options) { o.AgentID, o.Host = "agent-b", "host-b" })
	_, err := b.Upload(context.Background(), SnapshotMeta{GroupID: []byte("g"), Epoch: 2}, bytes.NewReader([]byte("b")))
	var le *LeaseError
	if !errors.As(err, &le) || !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("second agent's upload: %v, want a LeaseError", err)
	}
	if le.Holder.AgentID != "agent-a" || le.Holder.Host != "host-a" {
		t.Errorf("lease error names %+v, want agent-a on host-a", le.Holder)
	}
	for _, s := range []string{`"agent-a"`, `"host-a"`, "agent-lease.json", "--take-over"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("lease error %q lacks %s", err, s)
		}
	}
	if _, err := b.Prune(context.Background(), Retention{KeepLast: 1}, false); !errors.Is(err, ErrLeaseHeld) {
		t.Errorf("second agent's prune: %v, want ErrLeaseHeld", err)
	}
	// Reading and dry runs need no lease.
	if ms, err := b.List(context.Background(), nil); err != nil || len(ms) != 1 {
		t.Errorf("second agent's list: %d, %v", len(ms), err)
	}
	if _, err := b.Prune(context.Background(), Retention{KeepLast: 1}, true); err != nil {
		t.Errorf("second agent's dry-run prune: %v", err)
	}
	// The same agent id in a new process keeps the prefix.
	a2 := newTestBackup(t, store, k, nil)
	mustUpload(t, a2, "g", 3, []byte("a3"))
}

func TestLeaseTakeOver(t *testing.T) {
	store := newMemStore()
	clock := newFakeClock()
	k := newTestKeys(t)
	a := newTestBackup(t, store, k, func(o *Options) { o.Now = clock.Now; o.LeaseCheckInterval = time.Minute })
	mustUpload(t, a, "g", 1, []byte("a1"))

	b := newTestBackup(t, store, k, func(o *Options) { o.AgentID, o.TakeOver, o.Now = "agent-b", true, clock.Now })
	mustUpload(t, b, "g", 2, []byte("b2"))
	l, err := b.ReadLease(context.Background())
	if err != nil || l.AgentID != "agent-b" {
		t.Fatalf("lease after takeover: %+v, %v", l, err)
	}
	// Within its check interval a still writes; after it, a stops.
	mustUpload(t, a, "g", 3, []byte("a3"))
	clock.Advance(time.Minute)
	_, err = a.Upload(context.Background(), SnapshotMeta{GroupID: []byte("g"), Epoch: 4}, bytes.NewReader([]byte("a4")))
	var le *LeaseError
	if !errors.As(err, &le) || le.Holder.AgentID != "agent-b" {
		t.Fatalf("old agent after takeover: %v, want LeaseError naming agent-b", err)
	}
	// b keeps writing; a's TakeOver would apply only at its first write.
	clock.Advance(time.Minute)
	mustUpload(t, b, "g", 5, []byte("b5"))
	if ms, _ := b.List(context.Background(), nil); len(ms) != 4 {
		t.Errorf("%d snapshots listed, want 4", len(ms))
	}
}

func TestLeaseRaceHasOneWinner(t *testing.T) {
	store := newMemStore()
	k := newTestKeys(t)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		b := newTestBackup(t, store, k, func(o *Options) { o.AgentID = "agent-" + string(rune('a'+i)) })
		wg.Go(func() { _, errs[i] = b.AcquireLease(context.Background()) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrLeaseHeld):
			t.Errorf("unexpected error %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d agents acquired the lease, want 1", won)
	}
}

func TestReleaseLease(t *testing.T) {
	store := newMemStore()
	k := newTestKeys(t)
	a := newTestBackup(t, store, k, nil)
	b := newTestBackup(t, store, k, func(o *Options) { o.AgentID = "agent-b" })
	if err := a.ReleaseLease(context.Background()); err != nil {
		t.Fatalf("release without a lease: %v", err)
	}
	mustUpload(t, a, "g", 1, []byte("x"))
	if err := b.ReleaseLease(context.Background()); !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("release of another agent's lease: %v, want ErrLeaseHeld", err)
	}
	if err := a.ReleaseLease(context.Background()); err != nil {
		t.Fatal(err)
	}
	mustUpload(t, b, "g", 2, []byte("y"))
}

func TestCorruptLease(t *testing.T) {
	store := newMemStore()
	k := newTestKeys(t)
	a := newTestBackup(t, store, k, nil)
	key := a.layout.leaseKey()
	store.objs[key] = []byte("not json")
	_, err := a.Upload(context.Background(), SnapshotMeta{GroupID: []byte("g")}, bytes.NewReader([]byte("x")))
	wantErrNaming(t, err, ErrCorrupt, key)
	b := newTestBackup(t, store, k, func(o *Options) { o.TakeOver = true })
	mustUpload(t, b, "g", 1, []byte("x"))
	if l, err := b.ReadLease(context.Background()); err != nil || l.AgentID != "agent-a" {
		t.Fatalf("lease after taking over a corrupt one: %+v, %v", l, err)
	}
}
