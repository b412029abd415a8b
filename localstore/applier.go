package localstore

import (
	"context"
	"sort"
	"time"
)

// runApplier applies committed batches to the files in the background,
// checkpoints the log once [Options.CheckpointInterval] has passed since
// the oldest write not yet made durable, and retries failed writes with a
// backoff from RetryMax/50 up to [Options.RetryMax] until they succeed.
// With [Options.SyncApply] it only retries.
func (s *Store) runApplier() {
	defer close(s.done)
	ckpt := newStoppedTimer()
	armed := false
	gather := newStoppedTimer()
	retry := newStoppedTimer()
	retrying := false
	backoff := s.opts.RetryMax / 50
	for {
		select {
		case <-s.stop:
			ckpt.Stop()
			retry.Stop()
			return
		case <-s.kick:
			if s.opts.ApplyDelay > 0 {
				// Let more batches gather: a component changed by several
				// of them is written once.
				gather.Reset(s.opts.ApplyDelay)
				select {
				case <-s.stop:
					gather.Stop()
					ckpt.Stop()
					retry.Stop()
					return
				case <-gather.C:
				case <-s.urgent:
					gather.Stop()
				}
			}
			if err := s.flush(context.Background(), false); err != nil {
				s.noteWrite(stageApply, err)
			}
		case <-ckpt.C:
			armed = false
			_ = s.flushNoting(context.Background())
		case <-s.retry:
		case <-retry.C:
			retrying = false
			s.retryWrites(context.Background())
		}
		switch {
		case s.health.failing.Load() && !retrying:
			retry.Reset(backoff)
			retrying = true
			backoff = min(2*backoff, s.opts.RetryMax)
		case !s.health.failing.Load():
			backoff = s.opts.RetryMax / 50
		}
		if due, ok := s.checkpointDue(); ok && !armed {
			ckpt.Reset(max(time.Until(due), 0))
			armed = true
		}
	}
}

func newStoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

// Flush waits until every batch committed so far is applied to the
// component files, the files are durable and the log is checkpointed (its
// applied segments deleted).
func (s *Store) Flush(ctx context.Context) error {
	if err := s.usable(); err != nil {
		return err
	}
	return s.flushNoting(ctx)
}

// flushNoting is flush with a checkpoint, its outcome noted in the health.
func (s *Store) flushNoting(ctx context.Context) error {
	err := s.flush(ctx, true)
	s.noteWrite(stageApply, err)
	return err
}

// flush runs one applier round: it writes the newest durable value of
// every pending component to its file (without fsync, unless checkpoint is
// set or the store applies synchronously) and releases the overlay. It
// then checkpoints if checkpoint is set or a threshold is reached. If a
// write fails, what the round took is given back for the next one.
func (s *Store) flush(ctx context.Context, checkpoint bool) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	checkpoint = checkpoint || s.opts.SyncApply
	// Wait for the fate of the batches committed so far: a batch whose
	// log write failed is then taken out, the others are durable.
	s.mu.RLock()
	var last uint64
	if n := len(s.queue); n > 0 {
		last = s.queue[n-1].ticket
	}
	s.mu.RUnlock()
	if last > 0 {
		_ = s.log.WaitDurable(last) // a lost batch is its committer's error
	}
	ops, snap, prune := s.takeDurable()
	if len(ops) > 0 || len(snap) > 0 {
		sort.Slice(snap, func(i, j int) bool { return compKey(snap[i].key) < compKey(snap[j].key) })
		if err := s.writeAll(snap); err != nil {
			s.giveBack(ops, prune)
			return err
		}
		for _, op := range ops {
			s.ckpt.written = append(s.ckpt.written, op.id)
		}
		if s.ckpt.since.IsZero() {
			s.ckpt.since = time.Now()
		}
		s.mu.Lock()
		for _, e := range snap {
			s.pending.removeIf(compKey(e.key), e)
			e.prev = nil // in its file now: nothing below it is needed
		}
		s.space.Broadcast()
		s.mu.Unlock()
	}
	if (checkpoint || s.ckptThresholdLocked()) && !s.ckpt.empty() {
		if err := s.checkpointLocked(ctx); err != nil {
			s.giveBack(nil, prune)
			return err
		}
	}
	if err := s.pruneSnapshots(prune); err != nil {
		s.giveBack(nil, prune)
		return err
	}
	return nil
}

// takeDurable takes, for an applier round, the queued operations that are
// durable, the newest durable value of each pending component and the
// snapshot-prune marks of durable batches. flushMu is held.
func (s *Store) takeDurable() ([]queued, []*pendingEntry, map[string]pruneMark) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Durable is read before the failure check (see wal.Log.Durable).
	durable := s.log.Durable()
	s.rollbackLocked()
	n := 0
	for n < len(s.queue) && s.queue[n].ticket <= durable {
		n++
	}
	ops := append([]queued(nil), s.queue[:n]...)
	s.queue = append(s.queue[:0:0], s.queue[n:]...)
	snap := make([]*pendingEntry, 0, s.pending.len())
	for _, e := range s.pending.all {
		for e != nil && e.ticket > durable {
			e = e.prev
		}
		if e != nil {
			snap = append(snap, e)
		}
	}
	prune := map[string]pruneMark{}
	for gh, m := range s.prune {
		if m.ticket <= durable {
			prune[gh] = m
			delete(s.prune, gh)
		}
	}
	return ops, snap, prune
}

// giveBack returns what a failed round took, for the next one to retry.
// flushMu is held.
func (s *Store) giveBack(ops []queued, prune map[string]pruneMark) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(ops, s.queue...)
	for gh, m := range prune {
		if cur, ok := s.prune[gh]; !ok || m.ticket > cur.ticket {
			s.prune[gh] = m
		}
	}
}

// applyWorkers is how many component files the background applier writes
// (or fsyncs before a checkpoint) at once: concurrent fsyncs share journal
// commits on most file systems. With [Options.SyncApply] files are written
// one by one, in key order.
const applyWorkers = 8
