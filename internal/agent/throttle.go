package agent

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mlsbackup/mlsbackup/schedule"
)

// Background work yields to the application. A snapshot is mostly CPU in
// the kernel and in the agent (reading the group's files, writing and
// fsyncing the local snapshot file, age encryption, writing the object):
// about 4.5 ms of CPU and half a dozen fsyncs for a small group to a
// directory destination. With snapshotConcurrency of them at once on a
// small machine, system calls that keep a core busy outside the Go
// scheduler's share and fsyncs that the write-ahead log's fsyncs queue
// behind, the API's requests wait. So while the API serves requests,
// background work (the snapshots of cron passes, every-N-epochs, retries
// and reconciliation, and retention) runs one unit at a time, and after
// each unit waits busyPause times as long as the unit took: it gets at
// most 1/(1+busyPause) of one core and of the disk's time. Once the API has been quiet for
// foregroundQuiet, background snapshots run snapshotConcurrency at once
// without pauses, so a pass on an idle agent is as fast as before.
// Snapshots the application waits for (on request, before a removal) are
// never held back.
const (
	// busyConcurrency is how many units of background work run at once
	// while the API serves requests.
	busyConcurrency = 1
	// busyPause is how many times a unit's duration the background waits
	// after it while the API serves requests.
	busyPause = 5
	// foregroundQuiet is how long after its last request the API counts as
	// idle.
	foregroundQuiet = 250 * time.Millisecond
)

// bgGate paces background work by whether the application uses the API.
type bgGate struct {
	full   int              // units at once while the API is idle
	now    func() time.Time // the clock (its monotonic reading)
	base   time.Time        // lastFg counts from here
	lastFg atomic.Int64     // the last API operation, since base
	mu     sync.Mutex       // guards the fields below
	run    int              // units running
	resume time.Time        // while the API is busy, no unit starts before
	wake   chan struct{}    // closed when a unit ends
}

func newBGGate(full int) *bgGate {
	return &bgGate{full: full, now: time.Now, base: time.Now(), wake: make(chan struct{})}
}

// foreground notes an API operation.
func (g *bgGate) foreground() { g.lastFg.Store(int64(g.now().Sub(g.base))) }

// busyFor returns how much longer the API counts as busy at now (0: idle).
func (g *bgGate) busyFor(now time.Time) time.Duration {
	return max(time.Duration(g.lastFg.Load())+foregroundQuiet-now.Sub(g.base), 0)
}

// snapshot waits, for a snapshot with reason, until it may run and
// returns the function that ends it. Snapshots on request or before a
// removal are not background work: they pass at once.
func (g *bgGate) snapshot(ctx context.Context, reason schedule.Reason) (func(), error) {
	if reason&(schedule.ReasonRequest|schedule.ReasonBeforeRemove) != 0 {
		return func() {}, nil
	}
	return g.acquire(ctx)
}

// acquire waits until a unit of background work may start and returns the
// function that ends it.
func (g *bgGate) acquire(ctx context.Context) (func(), error) {
	for {
		g.mu.Lock()
		now := g.now()
		busy := g.busyFor(now)
		limit, wait := g.full, time.Duration(0)
		if busy > 0 {
			limit, wait = busyConcurrency, g.resume.Sub(now)
		}
		if g.run < limit && wait <= 0 {
			g.run++
			g.mu.Unlock()
			start := now
			return func() { g.release(start) }, nil
		}
		wake := g.wake
		g.mu.Unlock()
		// Look again when a unit ends, the pause is over, or the API may
		// have become idle.
		d := busy
		if wait > 0 {
			d = min(wait, busy)
		}
		t := time.NewTimer(max(d, time.Millisecond))
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

// release ends a unit started at start.
func (g *bgGate) release(start time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.run--
	now := g.now()
	if g.busyFor(now) > 0 {
		g.resume = now.Add(busyPause * now.Sub(start))
	}
	close(g.wake)
	g.wake = make(chan struct{})
}
