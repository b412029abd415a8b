package wal

import (
	"context"
	"fmt"
	"path/filepath"
)

// Begin logs the start of an operation of the given kind with an optional
// input and returns its id. The record is durable once a later [Log.Commit]
// or [Log.Sync] returns, or before Begin returns if durable is true (use it
// for an incoming message that must survive a crash before processing).
func (l *Log) Begin(ctx context.Context, kind string, input []byte, durable bool) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("wal begin %s: %w", kind, err)
	}
	if len(kind) > 0xffff {
		return 0, fmt.Errorf("wal begin: kind too long: %w", ErrTooLarge)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	id := l.nextID
	seq, err := l.appendLocked(typeBegin, encodeBegin(id, kind, input))
	if err != nil {
		return 0, fmt.Errorf("wal begin %s: %w", kind, err)
	}
	l.nextID++
	op := &opState{kind: kind, beginSeg: l.activeSeq, inputLen: len(input)}
	l.ops[id] = op
	l.noteUndo(seq, op, false)
	if durable {
		if err := l.waitDurable(seq); err != nil {
			delete(l.ops, id)
			return 0, fmt.Errorf("wal begin %s: %w", kind, err)
		}
	}
	return id, nil
}

// Commit logs the payload of operation id and returns once it is on
// stable storage; concurrent commits share one fsync. It is
// [Log.CommitAsync] followed by [Log.WaitDurable].
func (l *Log) Commit(ctx context.Context, id uint64, payload []byte) error {
	ticket, err := l.CommitAsync(ctx, id, payload)
	if err != nil {
		return err
	}
	return l.WaitDurable(ticket)
}

// CommitAsync appends the commit record of operation id without waiting
// and returns a ticket for [Log.WaitDurable]. Tickets grow in the order
// records are appended, which is the order recovery replays them in.
func (l *Log) CommitAsync(ctx context.Context, id uint64, payload []byte) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("wal commit %d: %w", id, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	op, ok := l.ops[id]
	if !ok || op.committed {
		return 0, fmt.Errorf("wal commit %d: %w", id, ErrUnknownOp)
	}
	if op.lostErr != nil {
		delete(l.ops, id)
		return 0, fmt.Errorf("wal commit %d: begin record lost: %w", id, op.lostErr)
	}
	seq, err := l.appendLocked(typeCommit, encodeIDPayload(id, payload))
	if err != nil {
		return 0, fmt.Errorf("wal commit %d: %w", id, err)
	}
	op.committed = true
	op.payloadLen = len(payload)
	l.noteUndo(seq, op, true)
	return seq, nil
}

// WaitDurable returns once the record with the given ticket is on stable
// storage, sharing the fsync with concurrent waiters. It does not take a
// context: once a record is appended, the only honest answers are
// "durable" or "lost with a failed write" (an error wrapping
// [ErrWriteFailed]; the operation is then uncommitted, see "Failed writes"
// in the package doc).
func (l *Log) WaitDurable(ticket uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.waitDurable(ticket); err != nil {
		return fmt.Errorf("wal: wait for fsync: %w", err)
	}
	return nil
}

// Abort abandons an operation that was not committed. The record is not
// fsynced by itself: after a crash the operation may be reported as
// incomplete again.
func (l *Log) Abort(ctx context.Context, id uint64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("wal abort %d: %w", id, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	op, ok := l.ops[id]
	if !ok || op.committed {
		return fmt.Errorf("wal abort %d: %w", id, ErrUnknownOp)
	}
	if op.lostErr != nil {
		// Its Begin record is on no disk: nothing to abort there.
		delete(l.ops, id)
		return nil
	}
	if _, err := l.appendLocked(typeAbort, encodeIDPayload(id, nil)); err != nil {
		return fmt.Errorf("wal abort %d: %w", id, err)
	}
	delete(l.ops, id)
	l.remember(id, op, true)
	return nil
}

// MarkApplied records that the payloads of the committed operations ids
// have reached stable storage elsewhere, so their segments may be deleted
// by [Log.Checkpoint]. The record is not fsynced by itself; losing it only
// causes a replay.
func (l *Log) MarkApplied(ctx context.Context, ids ...uint64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("wal mark applied: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		if op, ok := l.ops[id]; !ok || !op.committed {
			return fmt.Errorf("wal mark applied %d: %w", id, ErrUnknownOp)
		}
	}
	if _, err := l.appendLocked(typeApplied, encodeApplied(ids)); err != nil {
		return fmt.Errorf("wal mark applied: %w", err)
	}
	for _, id := range ids {
		l.remember(id, l.ops[id], false)
		delete(l.ops, id)
	}
	return nil
}

// remember keeps metadata of a finished operation if configured. mu is held.
func (l *Log) remember(id uint64, op *opState, aborted bool) {
	if l.opts.KeepCompleted <= 0 {
		return
	}
	if len(l.completed) == l.opts.KeepCompleted {
		l.completed = append(l.completed[:0], l.completed[1:]...)
	}
	l.completed = append(l.completed, Completed{ID: id, Kind: op.kind, Aborted: aborted, InputLen: op.inputLen, PayloadLen: op.payloadLen})
}

// Completed returns the last finished operations (oldest first), up to
// [Options.KeepCompleted].
func (l *Log) Completed() []Completed {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Completed(nil), l.completed...)
}

// Unfinished returns the number of operations begun and not yet applied or aborted.
func (l *Log) Unfinished() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ops)
}

// Checkpoint makes everything appended durable, closes the active segment
// if it holds any record (a new one becomes active) and deletes every
// segment all of whose operations are finished. After it returns, the bytes
// of applied payloads are in no file of the log. Appenders and group
// commits are held up only while the old segment gets its last fsync.
func (l *Log) Checkpoint(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("wal checkpoint: %w", err)
	}
	l.ckptMu.Lock()
	defer l.ckptMu.Unlock()
	if err := l.Repair(ctx); err != nil {
		return fmt.Errorf("wal checkpoint: %w", err)
	}
	l.mu.Lock()
	roll := l.activeLen > segmentHeaderSize
	next := segmentHeader{seq: l.activeSeq + 1, baseID: l.nextID}
	l.mu.Unlock()

	if roll {
		// Create the next segment without blocking appenders. If that
		// fails (a full disk), the active segment simply stays active.
		if err := createSegment(l.fs, l.dir, next); err != nil {
			return fmt.Errorf("wal checkpoint: %w", err)
		}
		if err := l.switchTo(next); err != nil {
			return fmt.Errorf("wal checkpoint: %w", err)
		}
	}

	l.mu.Lock()
	keepFrom := l.activeSeq
	for _, op := range l.ops {
		if op.lostErr == nil {
			keepFrom = min(keepFrom, op.beginSeg)
		}
	}
	first := l.firstSeg
	l.mu.Unlock()
	if first >= keepFrom {
		return nil
	}
	for seq := first; seq < keepFrom; seq++ {
		if err := l.fs.Remove(filepath.Join(l.dir, segmentName(seq))); err != nil {
			return fmt.Errorf("wal checkpoint: delete segment: %w", err)
		}
		l.mu.Lock()
		l.firstSeg = seq + 1
		l.mu.Unlock()
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return fmt.Errorf("wal checkpoint: %w", err)
	}
	return nil
}

// switchTo makes the created segment h active: what is still buffered goes
// to the old segment, which is fsynced first, so that a closed segment
// never has a torn tail. If that write fails, the records are lost (see
// [Log.loseLocked]) and h is not used.
func (l *Log) switchTo(h segmentHeader) error {
	l.ioMu.Lock()
	defer l.unlockIO()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	failures := l.failures.Load()
	l.flushLocked(true) // releases mu during I/O; appenders may add more
	// What they added is written holding mu, so that nothing is appended
	// to the old segment after its last fsync.
	l.flushLocked(false)
	if l.failures.Load() != failures {
		// The records are lost, and the cleanup may have rolled to a
		// segment of its own already.
		return l.lost[len(l.lost)-1].err
	}
	return l.activate(h)
}
