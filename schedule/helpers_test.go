package schedule

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitTimeout bounds every wait in the tests, so a deadlock fails the test
// with a message instead of hanging; it is never an assertion on timing.
const waitTimeout = 20 * time.Second

// call is one Snapshot call seen by fakeAgent.
type call struct {
	group  string
	reason Reason
	epoch  uint64    // the group's epoch when the snapshot started
	at     time.Time // clock time when the snapshot started
	ctxErr error     // the snapshot context's error when it returned
}

// fakeAgent plays the agent: it holds groups with an epoch and the epoch of
// their last complete upload, and implements Snapshotter and GroupLister.
type fakeAgent struct {
	clock Clock

	mu          sync.Mutex
	epochs      map[string]uint64
	uploaded    map[string]uint64
	calls       []call
	lists       int
	inflight    int
	maxInflight int
	perGroup    map[string]int // snapshots in flight per group
	overlaps    int            // times two snapshots of one group overlapped
	// block, if set, holds every snapshot until a value is received from it
	// (or it is closed) or the snapshot's context ends.
	block chan struct{}
	// fail, if set, returns the error for the n-th call (1-based).
	fail func(n int) error

	started chan string // receives the group of every snapshot that starts (up to its capacity)
}

func newFakeAgent(clock Clock) *fakeAgent {
	return &fakeAgent{
		clock:    clock,
		epochs:   map[string]uint64{},
		uploaded: map[string]uint64{},
		perGroup: map[string]int{},
		started:  make(chan string, 1000),
	}
}

var (
	_ Snapshotter = (*fakeAgent)(nil)
	_ GroupLister = (*fakeAgent)(nil)
)

func (a *fakeAgent) Snapshot(ctx context.Context, group []byte, reason Reason) (uint64, error) {
	key := string(group)
	a.mu.Lock()
	n := len(a.calls) + 1
	epoch := a.epochs[key]
	a.calls = append(a.calls, call{group: key, reason: reason, epoch: epoch, at: a.clock.Now()})
	a.inflight++
	a.maxInflight = max(a.maxInflight, a.inflight)
	a.perGroup[key]++
	if a.perGroup[key] > 1 {
		a.overlaps++
	}
	block, fail := a.block, a.fail
	a.mu.Unlock()
	select {
	case a.started <- key:
	default: // a load test that does not read it
	}

	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
		}
	}
	var err error
	if fail != nil {
		err = fail(n)
	}
	if err == nil {
		err = ctx.Err()
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	a.inflight--
	a.perGroup[key]--
	a.calls[n-1].ctxErr = ctx.Err()
	if err != nil {
		return 0, err
	}
	a.uploaded[key] = epoch
	return epoch, nil
}

func (a *fakeAgent) Groups(context.Context) ([]GroupStatus, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lists++
	var out []GroupStatus
	for id, e := range a.epochs {
		up, ok := a.uploaded[id]
		out = append(out, GroupStatus{ID: []byte(id), Epoch: e, Uploaded: ok, UploadedEpoch: up})
	}
	slices.SortFunc(out, func(x, y GroupStatus) int { return slices.Compare(x.ID, y.ID) })
	return out, nil
}

func (a *fakeAgent) setEpoch(group string, epoch uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.epochs[group] = epoch
}

func (a *fakeAgent) setUploaded(group string, epoch uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.uploaded[group] = epoch
}

func (a *fakeAgent) setBlock(ch chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.block = ch
}

func (a *fakeAgent) setFail(f func(n int) error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fail = f
}

func (a *fakeAgent) snapshotCalls() []call {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls)
}

func (a *fakeAgent) listCalls() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lists
}

// recorder collects hook events on channels.
type recorder struct {
	started atomic.Int64
	snaps   chan SnapshotEvent
	passes  chan PassEvent
}

func newRecorder() *recorder {
	return &recorder{snaps: make(chan SnapshotEvent, 1000), passes: make(chan PassEvent, 100)}
}

func (r *recorder) hooks() Hooks {
	return Hooks{
		SnapshotStarted: func([]byte, Reason) { r.started.Add(1) },
		// Sends never block: a load test that does not read them drops them.
		SnapshotDone: func(e SnapshotEvent) {
			select {
			case r.snaps <- e:
			default:
			}
		},
		PassDone: func(e PassEvent) {
			select {
			case r.passes <- e:
			default:
			}
		},
	}
}

// recv returns the next value from ch or fails the test.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// testConfig is a config with everything off but what a test turns on.
func testConfig() Config {
	return Config{
		MaxConcurrent: 2,
		BackoffMin:    time.Second,
		BackoffMax:    time.Minute,
	}
}

// harness is a running scheduler with a fake clock and a fake agent.
type harness struct {
	t      *testing.T
	clock  *FakeClock
	agent  *fakeAgent
	rec    *recorder
	s      *Scheduler
	stop   context.CancelFunc
	done   chan struct{} // closed when Run returned; then runErr is set
	runErr error
}

var epoch0 = time.Date(2026, 1, 10, 13, 30, 0, 0, time.UTC)

// newHarness builds a scheduler; withLister gives it the fake agent as its
// lister. It does not start Run.
func newHarness(t *testing.T, cfg Config, withLister bool, start time.Time) *harness {
	t.Helper()
	clock := NewFakeClock(start)
	agent := newFakeAgent(clock)
	rec := newRecorder()
	deps := Deps{Snapshotter: agent, Clock: clock, Hooks: rec.hooks(), Rand: func(int64) int64 { return 0 }}
	if withLister {
		deps.Lister = agent
	}
	s, err := New(cfg, deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &harness{t: t, clock: clock, agent: agent, rec: rec, s: s}
}

// run starts Run and stops it (gracefully) at the end of the test; a test
// must not leave a snapshot blocked.
func (h *harness) run() {
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	h.done = make(chan struct{})
	go func() {
		h.runErr = h.s.Run(ctx)
		close(h.done)
	}()
	h.t.Cleanup(func() {
		cancel()
		recv(h.t, h.done, "Run to return")
		if h.runErr != nil {
			h.t.Errorf("Run: %v", h.runErr)
		}
	})
}

func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	h.t.Cleanup(cancel)
	return ctx
}

func (h *harness) waitIdle() {
	h.t.Helper()
	if err := h.s.WaitIdle(h.ctx()); err != nil {
		h.t.Fatalf("WaitIdle: %v", err)
	}
}

// nextDeadline waits for a pending timer and returns the earliest deadline.
func (h *harness) nextDeadline() time.Time {
	h.t.Helper()
	d, err := h.clock.WaitTimers(h.ctx(), 1)
	if err != nil {
		h.t.Fatalf("waiting for a timer: %v", err)
	}
	return d[0]
}

// checkSnapshots checks that the snapshots taken so far are of groups (in
// any order), each for reason.
func checkSnapshots(t *testing.T, h *harness, reason Reason, groups ...string) {
	t.Helper()
	var got []string
	for _, c := range h.agent.snapshotCalls() {
		got = append(got, c.group)
		if c.reason != reason {
			t.Errorf("%s: reason %s, want %s", c.group, c.reason, reason)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, groups) {
		t.Errorf("snapshots of %v, want %v", got, groups)
	}
}
