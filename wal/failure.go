package wal

import (
	"context"
	"fmt"
	"sort"
)

// undoEntry reverts the in-memory effect of one record that is not
// durable yet, should a failed write lose it.
type undoEntry struct {
	seq    uint64
	op     *opState
	commit bool // a Commit record (else a Begin record)
}

// noteUndo remembers how to revert record seq of op. mu is held.
func (l *Log) noteUndo(seq uint64, op *opState, commit bool) {
	l.undo = append(l.undo, undoEntry{seq: seq, op: op, commit: commit})
}

// dropUndo forgets the entries of records up to seq, now durable. mu is held.
func (l *Log) dropUndo(seq uint64) {
	i := sort.Search(len(l.undo), func(i int) bool { return l.undo[i].seq > seq })
	l.undo = append(l.undo[:0], l.undo[i:]...)
}

// lostRange is the tickets lo < t <= hi, lost with the failed write err.
type lostRange struct {
	lo, hi uint64
	err    error
}

// lostTickets are the lost ranges in ticket order, adjacent ones merged
// (a run of failed writes with no success in between is one range).
type lostTickets []lostRange

func (r *lostTickets) add(lo, hi uint64, err error) {
	if lo >= hi {
		return
	}
	if n := len(*r); n > 0 && (*r)[n-1].hi == lo {
		(*r)[n-1].hi, (*r)[n-1].err = hi, err
		return
	}
	*r = append(*r, lostRange{lo: lo, hi: hi, err: err})
}

// find returns the error that lost ticket t, or nil.
func (r lostTickets) find(t uint64) error {
	i := sort.Search(len(r), func(i int) bool { return r[i].hi >= t })
	if i < len(r) && r[i].lo < t {
		return r[i].err
	}
	return nil
}

// repairKind is what cleaning up a failed write takes.
type repairKind int

const (
	// repairTruncate cuts the active segment back to its durable end.
	repairTruncate repairKind = iota
	// repairRoll also closes the active segment there and starts a new
	// one: after a failed fsync the page cache of the segment can no
	// longer be trusted to match the disk.
	repairRoll
)

// loseLocked handles a failed write or fsync of the active segment: every
// record not yet durable — those of the failed write and those appended
// since — is lost. Their waiters get an error wrapping [ErrWriteFailed],
// their in-memory effects are reverted (a commit becomes uncommitted, an
// operation whose Begin was lost ends at its next Commit or Abort), and
// the segment is cut back to the end of its durable records, so that no
// later record can follow the bytes of a failed one. mu and ioMu are held.
func (l *Log) loseLocked(cause error, syncFailed bool) {
	err := fmt.Errorf("%w: %w", ErrWriteFailed, cause)
	for i := len(l.undo) - 1; i >= 0; i-- {
		if u := l.undo[i]; u.commit {
			u.op.committed, u.op.payloadLen = false, 0
		} else {
			u.op.lostErr = err
		}
	}
	l.undo = l.undo[:0]
	l.buf = nil
	lost := l.appended - l.synced
	l.lost.add(l.synced, l.appended, err)
	l.synced = l.appended
	l.activeLen, l.chain = l.good.len, l.good.chain
	l.failures.Add(1)
	l.broken = err
	l.brokenFix = repairTruncate
	if syncFailed {
		l.brokenFix = repairRoll
	}
	l.logger.Error("wal: write failed; records not yet durable are dropped", "err", cause, "records", lost, "fsync", syncFailed)
	l.repairLocked()
	l.cond.Broadcast()
}

// repairLocked cleans up after a failed write, if one is pending: it
// truncates the active segment to the end of its durable records and
// fsyncs it, and after a failed fsync rolls to a new segment. Until it
// succeeds the log refuses appends. mu and ioMu are held.
func (l *Log) repairLocked() {
	if l.broken == nil {
		return
	}
	err := l.active.Truncate(l.good.len)
	if err == nil {
		if err = l.active.Sync(); err != nil {
			l.brokenFix = repairRoll
		}
	}
	if err == nil && l.brokenFix == repairRoll {
		next := segmentHeader{seq: l.activeSeq + 1, baseID: l.nextID}
		if err = createSegment(l.fs, l.dir, next); err == nil {
			err = l.activate(next)
		}
	}
	if err != nil {
		l.logger.Warn("wal: cleanup after a failed write failed; appends are refused until it succeeds", "err", err)
		return
	}
	l.logger.Info("wal: cleaned up after a failed write", "segment", segmentName(l.activeSeq), "offset", l.good.len, "rolled", l.brokenFix == repairRoll)
	l.broken = nil
}

// Repair retries the cleanup of a failed write whose first attempt failed
// (see "Failed writes" in the package doc) and returns nil once the log
// accepts appends again. Appends, [Log.Sync] and [Log.Checkpoint] retry it
// too.
func (l *Log) Repair(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("wal repair: %w", err)
	}
	l.ioMu.Lock()
	defer l.unlockIO()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	l.repairLocked()
	return l.broken
}

// unlockIO releases ioMu and wakes the waiters that could not take it, so
// that one of them flushes what they wait for. mu is not held.
func (l *Log) unlockIO() {
	l.ioMu.Unlock()
	l.mu.Lock()
	l.cond.Broadcast()
	l.mu.Unlock()
}

// Failures is the number of failed writes since [Open]; each one lost
// every record that was not durable yet.
func (l *Log) Failures() uint64 { return l.failures.Load() }

// Durable is the highest ticket made durable so far: every ticket up to
// it is durable, except those lost with a failed write ([Log.Lost]). A
// failed write loses only tickets above the Durable of the instant before
// it, so a caller that reads Durable and then sees no new [Log.Failures]
// knows that every ticket up to the value read is durable.
func (l *Log) Durable() uint64 { return l.durable.Load() }

// Lost reports whether the record with the ticket was lost with a failed
// write.
func (l *Log) Lost(ticket uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost.find(ticket) != nil
}
