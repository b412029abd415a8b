package agent

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mlsbackup/mlsbackup/schedule"
)

// Background snapshots yield to the application. A snapshot pass is
// mostly CPU in the kernel and in the agent (reading the group's files,
// writing and fsyncing the local snapshot file, age encryption, writing
// the object): with snapshotConcurrency of them at once on a small
// machine, the API's requests queue behind them for the CPU. So while the
// API serves requests, background snapshots (cron passes, every-N-epochs,
// retries, reconciliation) run one at a time; once it has been quiet for
// foregroundQuiet, they run snapshotConcurrency at once again, so a pass
// on an idle agent is as fast as before. Snapshots the application waits
// for (on request, before a removal) are not held back.
const (
	// busySnapshotConcurrency is how many background snapshots run at once
	// while the API serves requests.
	busySnapshotConcurrency = 1
	// foregroundQuiet is how long after its last request the API counts as
	// idle.
	foregroundQuiet = 250 * time.Millisecond
)

// bgGate bounds the background snapshots that run at once, by whether
// the application is using the API.
type bgGate struct {
	full   int              // the bound while the API is idle
	lastFg atomic.Int64     // unix nanoseconds of the last API operation
	now    func() time.Time // the clock
	mu     sync.Mutex       // guards run and wake
	run    int              // background snapshots running
	wake   chan struct{}    // closed when one ends
}

func newBGGate(full int) *bgGate {
	return &bgGate{full: full, now: time.Now, wake: make(chan struct{})}
}

// foreground notes an API operation.
func (g *bgGate) foreground() { g.lastFg.Store(g.now().UnixNano()) }

// limit is the bound in effect at now and, while the API is busy, when it
// will count as idle.
func (g *bgGate) limit(now time.Time) (int, time.Duration) {
	idleIn := time.Duration(g.lastFg.Load()+int64(foregroundQuiet)) - time.Duration(now.UnixNano())
	if idleIn > 0 {
		return busySnapshotConcurrency, idleIn
	}
	return g.full, 0
}

// acquire waits until a snapshot for reason may run and returns the
// function that ends it. Snapshots on request or before a removal pass at
// once.
func (g *bgGate) acquire(ctx context.Context, reason schedule.Reason) (func(), error) {
	if reason&(schedule.ReasonRequest|schedule.ReasonBeforeRemove) != 0 {
		return func() {}, nil
	}
	for {
		g.mu.Lock()
		limit, idleIn := g.limit(g.now())
		if g.run < limit {
			g.run++
			g.mu.Unlock()
			return g.release, nil
		}
		wake := g.wake
		g.mu.Unlock()
		t := time.NewTimer(max(idleIn, foregroundQuiet))
		select {
		case <-wake:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
		t.Stop()
	}
}

func (g *bgGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.run--
	close(g.wake)
	g.wake = make(chan struct{})
}
