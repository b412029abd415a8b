package schedule

import (
	"context"
	"encoding/hex"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ReconcileNow compares the destination with the groups at once, exactly
// as at start and every [Config].ReconcileInterval: the [Reconciler] lists
// the destination, every group it finds missing is snapshotted (on the
// workers of [Scheduler.Run]), and retention follows. It returns when
// they are done. It fails with [ErrReconcileActive] while another
// reconciliation runs and with [ErrNoReconciler] without a Reconciler;
// otherwise the event's Err reports a listing error and Failed the
// snapshots that failed.
func (s *Scheduler) ReconcileNow(ctx context.Context) (ReconcileEvent, error) {
	if s.recon == nil {
		return ReconcileEvent{}, ErrNoReconciler
	}
	if !s.reconActive.CompareAndSwap(false, true) {
		return ReconcileEvent{}, ErrReconcileActive
	}
	missing, ev := s.reconcileList(ctx, s.clock.Now())
	return s.reconcileFinish(ctx, missing, ev), nil
}

// reconcileList is the first half of a reconciliation started at start
// (s.reconActive set): the listing, which learns what the destination
// holds before anything relies on it.
func (s *Scheduler) reconcileList(ctx context.Context, start time.Time) ([][]byte, ReconcileEvent) {
	ev := ReconcileEvent{Start: start}
	missing, err := s.recon.Reconcile(ctx)
	if err != nil {
		ev.Err = fmt.Errorf("reconcile: %w", err)
		s.log.Warn("reconcile with the destination failed; keeping what was known", "err", err)
		return nil, ev
	}
	for _, id := range missing {
		s.log.Info("newest snapshot missing at the destination; uploading again", "group", hex.EncodeToString(id))
	}
	ev.Missing = len(missing)
	return missing, ev
}

// reconcileFinish is the second half: it snapshots the missing groups,
// waits for them, clears s.reconActive, applies retention and calls the
// hook.
func (s *Scheduler) reconcileFinish(ctx context.Context, missing [][]byte, ev ReconcileEvent) ReconcileEvent {
	if ev.Err == nil {
		ev.Failed = s.snapshotAll(missing, ReasonReconcile)
	}
	s.reconActive.Store(false)
	if ev.Err == nil {
		ev.RetainErr = s.applyRetention(ctx, nil)
	}
	ev.Duration = s.clock.Now().Sub(ev.Start)
	if h := s.hooks.ReconcileDone; h != nil {
		h(ev)
	}
	return ev
}

// snapshotAll queues a snapshot of each group for reason, waits for them
// and returns how many failed.
func (s *Scheduler) snapshotAll(groups [][]byte, reason Reason) int {
	var wg sync.WaitGroup
	var failed atomic.Int64
	for _, id := range groups {
		wg.Add(1)
		s.enqueue(string(id), reason, false, func(_ uint64, err error) {
			if err != nil {
				failed.Add(1)
			}
			wg.Done()
		})
	}
	wg.Wait()
	return int(failed.Load())
}

// applyRetention runs the [Retainer], if any, on groups (nil: all),
// unless ctx ended.
func (s *Scheduler) applyRetention(ctx context.Context, groups [][]byte) error {
	if s.retain == nil || ctx.Err() != nil {
		return nil
	}
	if err := s.retain.Retain(ctx, groups); err != nil {
		s.log.Warn("retention failed", "err", err)
		return fmt.Errorf("retention: %w", err)
	}
	return nil
}

// reconcileTimer arms the periodic reconciliation: a nil timer when there
// is no Reconciler or no interval.
func (s *Scheduler) reconcileTimer() Timer {
	if s.recon == nil || s.cfg.ReconcileInterval <= 0 {
		return nil
	}
	return s.clock.NewTimer(s.cfg.ReconcileInterval)
}
