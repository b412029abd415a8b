package schedule

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"
)

// fakeDestination plays the agent's destination side: Reconcile returns
// the groups set as missing (or the error set), Retain counts its calls.
type fakeDestination struct {
	mu        sync.Mutex
	missing   []string
	listErr   error
	lists     int
	retains   int
	retained  [][][]byte // the groups of each retention (nil: all)
	done      chan ReconcileEvent
	retainedC chan struct{}
}

func newFakeDestination() *fakeDestination {
	return &fakeDestination{done: make(chan ReconcileEvent, 100), retainedC: make(chan struct{}, 100)}
}

func (d *fakeDestination) Reconcile(context.Context) ([][]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lists++
	if d.listErr != nil {
		return nil, d.listErr
	}
	var out [][]byte
	for _, g := range d.missing {
		out = append(out, []byte(g))
	}
	return out, nil
}

func (d *fakeDestination) Retain(_ context.Context, groups [][]byte) error {
	d.mu.Lock()
	d.retains++
	d.retained = append(d.retained, groups)
	d.mu.Unlock()
	d.retainedC <- struct{}{}
	return nil
}

func (d *fakeDestination) set(missing []string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.missing, d.listErr = missing, err
}

func (d *fakeDestination) counts() (lists, retains int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lists, d.retains
}

// newReconcileHarness is newHarness with d as Reconciler and Retainer.
func newReconcileHarness(t *testing.T, cfg Config, d *fakeDestination) *harness {
	t.Helper()
	h := newHarness(t, cfg, true, epoch0)
	hooks := h.rec.hooks()
	hooks.ReconcileDone = func(ev ReconcileEvent) { d.done <- ev }
	s, err := New(cfg, Deps{Snapshotter: h.agent, Lister: h.agent, Reconciler: d, Retainer: d,
		Clock: h.clock, Hooks: hooks, Rand: func(int64) int64 { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
	return h
}

// TestReconcileAtStartAndEveryInterval: the scheduler reconciles at start
// and every ReconcileInterval; each missing group is snapshotted with
// ReasonReconcile, and retention follows once its uploads are done.
func TestReconcileAtStartAndEveryInterval(t *testing.T) {
	cfg := testConfig()
	cfg.ReconcileInterval = time.Hour
	d := newFakeDestination()
	d.set([]string{"gone-1", "gone-2"}, nil)
	h := newReconcileHarness(t, cfg, d)
	h.run()
	ev := recv(t, d.done, "the start-up reconciliation")
	if ev.Err != nil || ev.Missing != 2 || ev.Failed != 0 || ev.RetainErr != nil {
		t.Fatalf("start-up reconciliation %+v, want 2 missing uploaded", ev)
	}
	if lists, retains := d.counts(); lists != 1 || retains != 1 {
		t.Errorf("after start: %d listings, %d retentions; want 1, 1", lists, retains)
	}
	checkSnapshots(t, h, ReasonReconcile, "gone-1", "gone-2")

	d.set([]string{"gone-3"}, nil)
	if deadline := h.nextDeadline(); !deadline.Equal(epoch0.Add(time.Hour)) {
		t.Fatalf("next reconciliation at %s, want %s", deadline, epoch0.Add(time.Hour))
	}
	h.clock.Advance(time.Hour)
	if ev := recv(t, d.done, "the periodic reconciliation"); ev.Missing != 1 {
		t.Errorf("periodic reconciliation %+v, want 1 missing", ev)
	}
	if calls := h.agent.snapshotCalls(); len(calls) != 3 || calls[2].group != "gone-3" {
		t.Errorf("calls %+v, want a third snapshot, of gone-3", calls)
	}
}

// TestReconcileListingFailureUploadsNothing: a listing that fails is
// reported, uploads nothing and applies no retention (it is not taken for
// an empty destination).
func TestReconcileListingFailureUploadsNothing(t *testing.T) {
	d := newFakeDestination()
	d.set([]string{"would-be-missing"}, errors.New("injected: bucket unreachable"))
	h := newReconcileHarness(t, testConfig(), d)
	h.run()
	ev := recv(t, d.done, "the start-up reconciliation")
	if ev.Err == nil || ev.Missing != 0 {
		t.Errorf("reconciliation %+v, want the listing error and nothing missing", ev)
	}
	h.waitIdle()
	if calls := h.agent.snapshotCalls(); len(calls) != 0 {
		t.Errorf("snapshots %+v after a failed listing, want none", calls)
	}
	if _, retains := d.counts(); retains != 0 {
		t.Errorf("%d retentions after a failed listing, want 0", retains)
	}
	if _, err := h.s.ReconcileNow(h.ctx()); err != nil {
		t.Errorf("ReconcileNow: %v", err)
	}
}

// TestRetentionAfterPass: a pass (cron or on request) is followed by
// retention of the groups it snapshotted, once their snapshots are done; a
// reconciliation by retention of every group.
func TestRetentionAfterPass(t *testing.T) {
	d := newFakeDestination()
	h := newReconcileHarness(t, testConfig(), d)
	h.agent.setEpoch("moved", 3)
	h.run()
	recv(t, d.done, "the start-up reconciliation")
	recv(t, d.retainedC, "the retention after the start-up reconciliation")
	ev, err := h.s.PassNow(h.ctx())
	if err != nil || ev.Requested != 1 || ev.RetainErr != nil {
		t.Fatalf("PassNow = %+v, %v", ev, err)
	}
	recv(t, d.retainedC, "the retention after the pass")
	if ev, err := h.s.PassNow(h.ctx()); err != nil || ev.Requested != 0 {
		t.Fatalf("second PassNow = %+v, %v", ev, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	// All groups after the reconciliation; the one snapshotted after the
	// pass; none after a pass that snapshotted nothing.
	if want := [][][]byte{nil, {[]byte("moved")}}; !reflect.DeepEqual(d.retained, want) {
		t.Errorf("retentions of %q, want %q", d.retained, want)
	}
}

// TestReconcileNowErrors: no reconciler.
func TestReconcileNowErrors(t *testing.T) {
	h := newHarness(t, testConfig(), true, epoch0)
	if _, err := h.s.ReconcileNow(context.Background()); !errors.Is(err, ErrNoReconciler) {
		t.Errorf("ReconcileNow without a reconciler: %v, want ErrNoReconciler", err)
	}
}
