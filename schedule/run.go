package schedule

import (
	"context"
	"sync"
	"time"
)

// Run starts the workers and the timers and runs until ctx ends or
// [Scheduler.Cancel] is called. Then it stops taking work, fails queued
// synchronous requests with [ErrStopped], and waits for the snapshots in
// flight, whose context ends only with Cancel (graceful drain). It returns
// nil after a stop, or [ErrRunning] or [ErrStopped] if the scheduler is
// already running or was stopped.
func (s *Scheduler) Run(ctx context.Context) error {
	s.mu.Lock()
	switch {
	case s.stopping:
		s.mu.Unlock()
		return ErrStopped
	case s.started:
		s.mu.Unlock()
		return ErrRunning
	}
	s.started = true
	snapCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancelSnap = cancel
	s.mu.Unlock()
	defer cancel()

	var workers, passes sync.WaitGroup
	for range s.cfg.MaxConcurrent {
		workers.Go(func() { s.worker(snapCtx) })
	}
	s.loop(ctx, &passes)
	s.stop()
	passes.Wait()
	workers.Wait()
	return nil
}

// loop owns the timers: the cron slot and the earliest retry.
func (s *Scheduler) loop(ctx context.Context, passes *sync.WaitGroup) {
	if s.recon != nil && s.reconActive.CompareAndSwap(false, true) {
		// The listing comes first, so that the start-up check and a
		// catch-up pass see what the destination really holds.
		missing, ev := s.reconcileList(ctx, s.clock.Now())
		passes.Go(func() { s.reconcileFinish(ctx, missing, ev) })
	}
	if s.lister != nil && s.cfg.EveryEpochs > 0 {
		s.seed(ctx)
	}
	c := cronState{s: s}
	c.start(ctx)
	defer c.stopTimer()

	recon := s.reconcileTimer()
	defer func() {
		if recon != nil {
			recon.Stop()
		}
	}()

	var retry Timer
	var retryAt time.Time
	defer func() {
		if retry != nil {
			retry.Stop()
		}
	}()

	for {
		// Re-arm the retry timer for the earliest backing-off group.
		if next := s.earliestRetry(); !next.Equal(retryAt) {
			if retry != nil {
				retry.Stop()
				retry = nil
			}
			retryAt = next
			if !next.IsZero() {
				retry = s.clock.NewTimer(next.Sub(s.clock.Now()))
			}
		}
		var retryC, reconC <-chan time.Time
		if retry != nil {
			retryC = retry.C()
		}
		if recon != nil {
			reconC = recon.C()
		}

		select {
		case <-ctx.Done():
			return
		case <-s.stopCh:
			return
		case <-s.kick:
		case <-retryC:
			retry, retryAt = nil, time.Time{}
			s.promoteDue()
		case <-reconC:
			recon = s.reconcileTimer()
			if !s.reconActive.CompareAndSwap(false, true) {
				s.log.Warn("reconcile skipped: previous one still running")
				continue
			}
			start := s.clock.Now()
			passes.Go(func() {
				missing, ev := s.reconcileList(ctx, start)
				s.reconcileFinish(ctx, missing, ev)
			})
		case <-c.timerC():
			start, catchUp := s.clock.Now(), c.catchUp
			c.fired(start)
			if !s.passActive.CompareAndSwap(false, true) {
				s.log.Warn("cron pass skipped: previous pass still running")
				continue
			}
			passes.Go(func() { s.runPass(ctx, start, catchUp) })
		}
	}
}
