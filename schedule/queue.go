package schedule

import (
	"context"
	"encoding/hex"
	"log/slog"
	"time"
)

// place says which queue a group is in.
type place uint8

const (
	nowhere   place = iota
	inReady         // in readyQ
	inUrgent        // in urgentQ
	inDelayed       // in delayed, waiting for retryAt
)

// group is the scheduling state of one group. At most one snapshot is
// queued (pending) and at most one running; triggers merge into the queued
// one.
type group struct {
	queued  bool
	running bool
	urgent  bool // a synchronous caller waits for the queued snapshot
	where   place

	pending    Reason                // reasons of the queued snapshot
	waiters    []func(uint64, error) // wait for the queued snapshot
	runReason  Reason                // reasons of the running snapshot
	runWaiters []func(uint64, error) // wait for the running snapshot

	failures int       // consecutive failures
	retryAt  time.Time // asynchronous work waits until then
}

func (g *group) busy() bool  { return g.queued || g.running }
func (g *group) empty() bool { return !g.busy() && g.failures == 0 }

// with applies fn to the state of key, creating it if needed, and keeps the
// busy count, the idle waiters and the map in step. s.mu must be held.
func (s *Scheduler) with(key string, fn func(g *group)) {
	g := s.groups[key]
	if g == nil {
		g = &group{}
		s.groups[key] = g
	}
	was := g.busy()
	fn(g)
	switch now := g.busy(); {
	case was && !now:
		s.busy--
	case !was && now:
		s.busy++
	}
	if g.empty() {
		delete(s.groups, key)
	}
	if s.busy == 0 {
		for _, ch := range s.idle {
			close(ch)
		}
		s.idle = nil
	}
}

// enqueue asks for a snapshot of key. cb, if not nil, is called with the
// result of a snapshot that starts after this call. It reports whether the
// request was accepted (false once the scheduler is stopping, in which case
// cb gets [ErrStopped]).
func (s *Scheduler) enqueue(key string, reason Reason, urgent bool, cb func(uint64, error)) bool {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		if cb != nil {
			cb(0, ErrStopped)
		}
		return false
	}
	s.with(key, func(g *group) {
		g.pending |= reason
		g.queued = true
		if cb != nil {
			g.waiters = append(g.waiters, cb)
		}
		if urgent {
			g.urgent = true
		}
		if !g.running {
			s.placeLocked(key, g)
		}
	})
	s.mu.Unlock()
	return true
}

// placeLocked puts a queued, not running group in the right queue.
func (s *Scheduler) placeLocked(key string, g *group) {
	switch {
	case g.urgent:
		if g.where == inUrgent {
			return
		}
		if g.where == inDelayed {
			delete(s.delayed, key)
			s.kickLoop()
		}
		g.where = inUrgent
		s.urgentQ = append(s.urgentQ, key)
		s.work.Signal()
	case g.where != nowhere:
		// Already waiting; the new trigger merged into it.
	case g.retryAt.After(s.clock.Now()):
		g.where = inDelayed
		s.delayed[key] = struct{}{}
		s.kickLoop()
	default:
		g.where = inReady
		s.readyQ = append(s.readyQ, key)
		s.work.Signal()
	}
}

func (s *Scheduler) kickLoop() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// popLocked takes the next group to run, urgent work first. Entries whose
// group has since moved to another queue are skipped.
func (s *Scheduler) popLocked() (string, bool) {
	for len(s.urgentQ) > 0 {
		key := s.urgentQ[0]
		s.urgentQ = s.urgentQ[1:]
		if g := s.groups[key]; g != nil && g.where == inUrgent {
			return key, true
		}
	}
	for len(s.readyQ) > 0 {
		key := s.readyQ[0]
		s.readyQ = s.readyQ[1:]
		if g := s.groups[key]; g != nil && g.where == inReady {
			return key, true
		}
	}
	return "", false
}

// worker runs snapshots until the scheduler stops.
func (s *Scheduler) worker(ctx context.Context) {
	for {
		key, reason, attempt, ok := s.next()
		if !ok {
			return
		}
		s.runOne(ctx, key, reason, attempt)
	}
}

// next blocks until a group is ready and marks it running.
func (s *Scheduler) next() (key string, reason Reason, attempt int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.stopping {
			return "", 0, 0, false
		}
		if key, ok = s.popLocked(); ok {
			break
		}
		s.work.Wait()
	}
	s.with(key, func(g *group) {
		g.where = nowhere
		g.queued, g.running, g.urgent = false, true, false
		g.runReason, g.pending = g.pending, 0
		g.runWaiters, g.waiters = g.waiters, nil
		reason, attempt = g.runReason, g.failures+1
	})
	return key, reason, attempt, true
}

// runOne takes one snapshot and records its outcome: hooks first, then the
// synchronous waiters, then the group leaves the running state and its
// follow-up or retry, if any, is queued.
func (s *Scheduler) runOne(ctx context.Context, key string, reason Reason, attempt int) {
	id := []byte(key)
	if h := s.hooks.SnapshotStarted; h != nil {
		h(id, reason)
	}
	start := s.clock.Now()
	epoch, err := s.snap.Snapshot(ctx, []byte(key), reason)
	end := s.clock.Now()

	var retryIn time.Duration
	var waiters []func(uint64, error)
	s.mu.Lock()
	s.with(key, func(g *group) {
		waiters, g.runWaiters = g.runWaiters, nil
		if err == nil {
			g.failures, g.retryAt = 0, time.Time{}
			return
		}
		g.failures++
		if s.stopping || IsPermanent(err) {
			g.retryAt = time.Time{}
			return
		}
		retryIn = s.cfg.backoff(g.failures)
		g.retryAt = end.Add(retryIn)
	})
	s.mu.Unlock()

	if err != nil {
		s.log.Warn("snapshot failed", "group", hex.EncodeToString(id), "reason", reason,
			"attempt", attempt, "retry_in", retryIn, "err", err)
	} else if s.log.Enabled(ctx, slog.LevelDebug) {
		s.log.Debug("snapshot uploaded", "group", hex.EncodeToString(id), "reason", reason, "epoch", epoch)
	}
	if h := s.hooks.SnapshotDone; h != nil {
		h(SnapshotEvent{Group: id, Reason: reason, Attempt: attempt, Epoch: epoch, Err: err,
			Start: start, Duration: end.Sub(start), RetryIn: retryIn})
	}
	for _, w := range waiters {
		w(epoch, err)
	}

	s.mu.Lock()
	s.with(key, func(g *group) {
		g.running = false
		if retryIn > 0 && !s.stopping {
			g.queued = true
			g.pending |= reason | ReasonRetry
		}
		if g.queued {
			s.placeLocked(key, g)
		}
	})
	s.mu.Unlock()
}

// promoteDue moves the backing-off groups whose retry time has come to the
// ready queue.
func (s *Scheduler) promoteDue() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	for key := range s.delayed {
		g := s.groups[key]
		if g == nil || g.where != inDelayed {
			delete(s.delayed, key)
			continue
		}
		if g.retryAt.After(now) {
			continue
		}
		delete(s.delayed, key)
		g.where = inReady
		s.readyQ = append(s.readyQ, key)
		s.work.Signal()
	}
}

// earliestRetry returns the earliest retry time of the backing-off groups,
// or the zero time if there are none.
func (s *Scheduler) earliestRetry() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var t time.Time
	for key := range s.delayed {
		if g := s.groups[key]; g != nil && (t.IsZero() || g.retryAt.Before(t)) {
			t = g.retryAt
		}
	}
	return t
}

// stop stops taking work: queued snapshots are dropped and their waiters
// get [ErrStopped]; running ones finish and notify their own waiters.
func (s *Scheduler) stop() {
	var cbs []func(uint64, error)
	s.mu.Lock()
	s.stopping = true
	for key, g := range s.groups {
		if !g.queued {
			continue
		}
		s.with(key, func(g *group) {
			cbs = append(cbs, g.waiters...)
			g.waiters = nil
			g.queued, g.urgent, g.pending, g.where = false, false, 0, nowhere
		})
	}
	s.readyQ, s.urgentQ = nil, nil
	clear(s.delayed)
	s.work.Broadcast()
	s.mu.Unlock()
	for _, cb := range cbs {
		cb(0, ErrStopped)
	}
}
