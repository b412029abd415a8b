package wal

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

// commitOne begins and commits one operation.
func commitOne(ctx context.Context, l *Log, kind, payload string) error {
	id, err := l.Begin(ctx, kind, nil, false)
	if err != nil {
		return err
	}
	return l.Commit(ctx, id, []byte(payload))
}

// reopenAfter crashes m in mode and reopens the log, which must not be
// corrupt and must have nothing to repair.
func reopenAfter(t *testing.T, m *fsx.Mem, mode fsx.CrashMode) *Recovery {
	t.Helper()
	m.Crash(mode)
	l, rec, err := Open(context.Background(), m, testDir, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	if rec.Repaired != nil {
		t.Errorf("reopen repaired a torn tail %+v: the failed write left bytes behind", *rec.Repaired)
	}
	return rec
}

// TestFullDiskFailedAppendLeavesNoTrace: a commit whose write fails half
// way on a full disk returns an error, and once space returns the log
// takes new commits, which a reopen finds right after the last good one:
// no byte of the failed record stays between them (that would read as
// mid-file corruption), even if the process dies with the page cache
// intact.
func TestFullDiskFailedAppendLeavesNoTrace(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []fsx.CrashMode{fsx.ProcessKill, fsx.PowerLoss} {
		m := newMem(t)
		full := &fsx.Full{}
		l, _ := mustOpen(t, fsx.NewFaulty(m, fsx.FaultyOptions{Inject: full.Inject}), Options{})
		must(t, commitOne(ctx, l, "A", "first"))
		full.Set(true)
		err := commitOne(ctx, l, "B", "failed-on-full-disk")
		if !errors.Is(err, syscall.ENOSPC) || !errors.Is(err, ErrWriteFailed) {
			t.Fatalf("commit on a full disk: %v, want ENOSPC and ErrWriteFailed", err)
		}
		full.Set(false)
		must(t, commitOne(ctx, l, "C", "after-space-returned"))
		must(t, l.Sync(ctx))

		rec := reopenAfter(t, m, mode)
		want := []string{"1:A::first", "3:C::after-space-returned"}
		if got := entryIDs(rec.Replay); !reflect.DeepEqual(got, want) {
			t.Fatalf("crash mode %d: replay %v, want %v", mode, got, want)
		}
		if got := entryIDs(rec.Incomplete); len(got) != 0 {
			t.Fatalf("crash mode %d: incomplete %v, want none", mode, got)
		}
	}
}

// TestFullDiskFailedFsyncRollsToNewSegment: after a failed fsync the
// records are in the page cache but maybe not on disk. They are lost (the
// waiters get an error), cut off the segment, and the log never writes
// to that segment again: the next commit goes to a new one.
func TestFullDiskFailedFsyncRollsToNewSegment(t *testing.T) {
	ctx := context.Background()
	m := newMem(t)
	var failSync sync.Once
	armed := false
	inject := func(op fsx.Op, path string, _ []byte) (int, error) {
		var err error
		if op == fsx.OpSync && armed && strings.HasSuffix(path, segmentName(1)) {
			failSync.Do(func() { err = syscall.EIO })
		}
		return 0, err
	}
	l, _ := mustOpen(t, fsx.NewFaulty(m, fsx.FaultyOptions{Inject: inject}), Options{})
	must(t, commitOne(ctx, l, "A", "first"))
	armed = true
	if err := commitOne(ctx, l, "B", "fsync-failed"); !errors.Is(err, syscall.EIO) || !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("commit whose fsync fails: %v, want EIO and ErrWriteFailed", err)
	}
	must(t, commitOne(ctx, l, "C", "in-new-segment"))
	if l.activeSeq != 2 {
		t.Fatalf("active segment %d after a failed fsync, want 2", l.activeSeq)
	}
	if l.Failures() != 1 {
		t.Fatalf("failures = %d, want 1", l.Failures())
	}

	// ProcessKill keeps the page cache: the bytes of B were written
	// there, and only the truncation keeps them out.
	rec := reopenAfter(t, m, fsx.ProcessKill)
	want := []string{"1:A::first", "3:C::in-new-segment"}
	if got := entryIDs(rec.Replay); !reflect.DeepEqual(got, want) {
		t.Fatalf("replay %v, want %v", got, want)
	}
	if rec.Segments != 2 {
		t.Fatalf("%d segments, want 2", rec.Segments)
	}
}

// TestFullDiskGroupCommitFailsTogether: commits sharing one failed write
// all fail; none of them pins a segment (each is aborted or uncommitted),
// and after space returns they can be committed again.
func TestFullDiskGroupCommitFailsTogether(t *testing.T) {
	ctx := context.Background()
	m := newMem(t)
	full := &fsx.Full{}
	l, _ := mustOpen(t, fsx.NewFaulty(m, fsx.FaultyOptions{Inject: full.Inject}), Options{})
	full.Set(true)
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := l.Begin(ctx, "Send", nil, false)
			if err == nil {
				// A commit whose Begin record was lost too ends
				// the operation itself: Abort finds nothing then.
				if err = l.Commit(ctx, id, []byte{byte(i)}); err != nil {
					if aerr := l.Abort(ctx, id); aerr != nil && !errors.Is(aerr, ErrUnknownOp) {
						t.Errorf("abort after a failed commit: %v", aerr)
					}
				}
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, ErrWriteFailed) {
			t.Fatalf("commit %d on a full disk: %v, want ErrWriteFailed", i, err)
		}
	}
	full.Set(false)
	must(t, commitOne(ctx, l, "After", "ok"))
	if u := l.Unfinished(); u != 1 {
		t.Fatalf("%d unfinished operations, want 1 (the commit after)", u)
	}
	must(t, l.Close())
	rec := reopenAfter(t, m, fsx.PowerLoss)
	if got, want := entryIDs(rec.Replay), []string{"17:After::ok"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("replay %v, want %v", got, want)
	}
}

// TestFullDiskRepairRetriedUntilItSucceeds: when even the cleanup of a
// failed write fails, the log refuses appends (with ErrWriteFailed) until
// a repair succeeds, and then works again.
func TestFullDiskRepairRetriedUntilItSucceeds(t *testing.T) {
	ctx := context.Background()
	m := newMem(t)
	var mu sync.Mutex
	failing := false
	inject := func(op fsx.Op, _ string, data []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		if failing && (op == fsx.OpWrite || op == fsx.OpSync || op == fsx.OpCreate) {
			return len(data) / 2, syscall.EIO
		}
		return 0, nil
	}
	set := func(v bool) { mu.Lock(); failing = v; mu.Unlock() }
	l, _ := mustOpen(t, fsx.NewFaulty(m, fsx.FaultyOptions{Inject: inject}), Options{})
	must(t, commitOne(ctx, l, "A", "first"))
	set(true)
	if err := commitOne(ctx, l, "B", "lost"); !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("commit on a failing device: %v, want ErrWriteFailed", err)
	}
	if _, err := l.Begin(ctx, "C", nil, false); !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("begin while the cleanup fails: %v, want ErrWriteFailed", err)
	}
	if err := l.Repair(ctx); !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("repair while the device fails: %v, want ErrWriteFailed", err)
	}
	set(false)
	must(t, l.Repair(ctx))
	must(t, commitOne(ctx, l, "D", "after-repair"))
	must(t, l.Checkpoint(ctx))
	must(t, l.Close())
	rec := reopenAfter(t, m, fsx.ProcessKill)
	if got, want := entryIDs(rec.Replay), []string{"1:A::first", "3:D::after-repair"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("replay %v, want %v", got, want)
	}
}

// TestFullDiskFailedDurableBeginDoesNotPin: an input whose durable Begin
// fails is not an unfinished operation: it neither pins its segment nor
// comes back as a pending input.
func TestFullDiskFailedDurableBeginDoesNotPin(t *testing.T) {
	ctx := context.Background()
	m := newMem(t)
	full := &fsx.Full{}
	l, _ := mustOpen(t, fsx.NewFaulty(m, fsx.FaultyOptions{Inject: full.Inject}), Options{})
	full.Set(true)
	if _, err := l.Begin(ctx, "Receive", []byte("message"), true); !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("durable begin on a full disk: %v, want ErrWriteFailed", err)
	}
	full.Set(false)
	if u := l.Unfinished(); u != 0 {
		t.Fatalf("%d unfinished operations after a failed begin, want 0", u)
	}
	must(t, commitOne(ctx, l, "A", "a"))
	must(t, l.MarkApplied(ctx, 2))
	must(t, l.Checkpoint(ctx))
	must(t, l.Close())
	rec := reopenAfter(t, m, fsx.PowerLoss)
	if len(rec.Replay)+len(rec.Incomplete) != 0 || rec.Segments != 1 {
		t.Fatalf("after checkpoint: %+v, want nothing to do and 1 segment", rec)
	}
}

// TestFullDiskCheckpointFailureKeepsLogUsable: a checkpoint that cannot
// create its next segment fails, and the log keeps appending to the
// active one.
func TestFullDiskCheckpointFailureKeepsLogUsable(t *testing.T) {
	ctx := context.Background()
	m := newMem(t)
	full := &fsx.Full{}
	l, _ := mustOpen(t, fsx.NewFaulty(m, fsx.FaultyOptions{Inject: func(op fsx.Op, path string, data []byte) (int, error) {
		if op != fsx.OpCreate {
			return 0, nil
		}
		return full.Inject(op, path, data)
	}}), Options{})
	must(t, commitOne(ctx, l, "A", "a"))
	full.Set(true)
	if err := l.Checkpoint(ctx); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("checkpoint without space for a segment: %v, want ENOSPC", err)
	}
	must(t, commitOne(ctx, l, "B", "b"))
	full.Set(false)
	must(t, l.MarkApplied(ctx, 1, 2))
	must(t, l.Checkpoint(ctx))
	must(t, l.Close())
	rec := reopenAfter(t, m, fsx.PowerLoss)
	if len(rec.Replay)+len(rec.Incomplete) != 0 || rec.Segments != 1 {
		t.Fatalf("after checkpoint: %+v, want nothing to do and 1 segment", rec)
	}
}
