package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

// Deps are the collaborators of a [Scheduler].
type Deps struct {
	// Snapshotter takes the snapshots. Required.
	Snapshotter Snapshotter
	// Lister lists groups for cron passes and the start-up check. Required
	// when Cron is set; without it the start-up check is skipped.
	Lister GroupLister
	// Reconciler, if set, compares the destination with the groups at
	// start and every [Config].ReconcileInterval; the groups it finds
	// missing are snapshotted (reason [ReasonReconcile]).
	Reconciler Reconciler
	// Retainer, if set, applies retention after every pass and every
	// reconciliation.
	Retainer Retainer
	// Clock defaults to [RealClock].
	Clock Clock
	// FS writes the state file; defaults to fsx.OS.
	FS fsx.FS
	// Hooks receive metrics events.
	Hooks Hooks
	// Logger defaults to a logger that discards.
	Logger *slog.Logger
	// Rand returns a random number in [0, n) for jitter; defaults to
	// math/rand/v2.
	Rand func(n int64) int64
}

// Scheduler decides when groups are snapshotted and runs the snapshots. Its
// trigger methods are safe for concurrent use and may be called before
// [Scheduler.Run]; the work they queue starts when Run does.
type Scheduler struct {
	cfg    Config
	snap   Snapshotter
	lister GroupLister
	recon  Reconciler
	retain Retainer
	clock  Clock
	fs     fsx.FS
	hooks  Hooks
	log    *slog.Logger
	rand   func(int64) int64
	cron   cron.Schedule // nil when cron is off
	loc    *time.Location

	kick     chan struct{} // wakes the loop to re-arm the retry timer
	stopCh   chan struct{} // closed by Cancel
	stopOnce sync.Once

	passActive  atomic.Bool // a cron pass is running
	reconActive atomic.Bool // a reconciliation is running

	mu         sync.Mutex
	work       *sync.Cond // signalled when work is ready or on stop
	started    bool
	stopping   bool
	cancelSnap context.CancelFunc
	groups     map[string]*group   // groups queued, running or backing off
	epochs     map[string]uint64   // last epoch seen per group
	readyQ     []string            // asynchronous work, FIFO
	urgentQ    []string            // synchronous work, FIFO, served first
	delayed    map[string]struct{} // queued but backing off
	busy       int                 // groups queued or running
	idle       []chan struct{}     // closed when busy drops to 0
}

// New returns a scheduler for cfg. It checks cfg and does no I/O.
func New(cfg Config, deps Deps) (*Scheduler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Snapshotter == nil {
		return nil, errors.New("schedule: no snapshotter")
	}
	if cfg.Cron != "" && deps.Lister == nil {
		return nil, errors.New("schedule: cron needs a group lister")
	}
	sched, _ := cfg.schedule()
	loc, _ := cfg.location()
	s := &Scheduler{
		cfg:     cfg,
		snap:    deps.Snapshotter,
		lister:  deps.Lister,
		recon:   deps.Reconciler,
		retain:  deps.Retainer,
		clock:   deps.Clock,
		fs:      deps.FS,
		hooks:   deps.Hooks,
		log:     deps.Logger,
		rand:    deps.Rand,
		cron:    sched,
		loc:     loc,
		kick:    make(chan struct{}, 1),
		stopCh:  make(chan struct{}),
		groups:  make(map[string]*group),
		epochs:  make(map[string]uint64),
		delayed: make(map[string]struct{}),
	}
	if s.clock == nil {
		s.clock = RealClock{}
	}
	if s.fs == nil {
		s.fs = fsx.OS{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.rand == nil {
		s.rand = rand.Int64N
	}
	s.work = sync.NewCond(&s.mu)
	return s, nil
}

// EpochChanged tells the scheduler that group is now at epoch. It queues a
// snapshot when the epoch reached or passed a multiple of EveryEpochs since
// the last epoch reported (a group first seen counts from epoch 0), and
// reports whether it did.
func (s *Scheduler) EpochChanged(group []byte, epoch uint64) bool {
	key := string(group)
	n := s.cfg.EveryEpochs
	s.mu.Lock()
	prev := s.epochs[key]
	s.epochs[key] = epoch
	s.mu.Unlock()
	if n == 0 || epoch/n <= prev/n {
		return false
	}
	return s.enqueue(key, ReasonEpoch, false, nil)
}

// Forget drops what the scheduler remembers about a deleted group: its last
// epoch and, unless a snapshot of it is queued or running, its backoff.
func (s *Scheduler) Forget(group []byte) {
	key := string(group)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.epochs, key)
	if g := s.groups[key]; g != nil && !g.busy() {
		delete(s.groups, key)
	}
}

// Request queues a snapshot of group and returns at once.
func (s *Scheduler) Request(group []byte) {
	s.enqueue(string(group), ReasonRequest, false, nil)
}

// RequestSync takes a snapshot of group now, ahead of queued asynchronous
// work and regardless of backoff, and returns the epoch uploaded. If ctx
// ends first it returns ctx's error (the snapshot still runs).
func (s *Scheduler) RequestSync(ctx context.Context, group []byte) (uint64, error) {
	epoch, err := s.wait(ctx, string(group), ReasonRequest)
	if err != nil {
		return 0, fmt.Errorf("schedule: snapshot on request: %w", err)
	}
	return epoch, nil
}

// BeforeRemove is called before a member is removed from group. When
// BeforeRemove is on in the [Config], it returns only once a snapshot taken
// after the call is uploaded, or with the error that prevented it (which
// wraps the [Snapshotter]'s error) so the caller can decide not to remove.
// When it is off, it returns nil at once.
func (s *Scheduler) BeforeRemove(ctx context.Context, group []byte) error {
	if !s.cfg.BeforeRemove {
		return nil
	}
	if _, err := s.wait(ctx, string(group), ReasonBeforeRemove); err != nil {
		return fmt.Errorf("schedule: snapshot before remove: %w", err)
	}
	return nil
}

type result struct {
	epoch uint64
	err   error
}

func (s *Scheduler) wait(ctx context.Context, key string, reason Reason) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	ch := make(chan result, 1)
	s.enqueue(key, reason, true, func(epoch uint64, err error) { ch <- result{epoch, err} })
	select {
	case r := <-ch:
		return r.epoch, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// WaitIdle blocks until no snapshot is queued, backing off or running, or
// returns ctx's error. Hooks and synchronous callers of the last snapshot
// have been notified when it returns.
func (s *Scheduler) WaitIdle(ctx context.Context) error {
	s.mu.Lock()
	if s.busy == 0 {
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.idle = append(s.idle, ch)
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Cancel is the hard stop: it cancels the context of the snapshots in
// flight, fails queued synchronous requests with [ErrStopped] and makes
// [Scheduler.Run] return once the snapshots in flight have returned. It may
// be called at any time, more than once.
func (s *Scheduler) Cancel() {
	s.stop() // first, so that the cancelled snapshots are not retried
	s.mu.Lock()
	if s.cancelSnap != nil {
		s.cancelSnap()
	}
	s.mu.Unlock()
	s.stopOnce.Do(func() { close(s.stopCh) })
}
