package wal

import (
	"context"
	"reflect"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

// TestOpenMakesUnsyncedRecordsDurable: a process is killed after writing
// a commit record but before its fsync; the next Open sees the record and
// the caller replays it. A power loss after that must not take the record
// away again, or the replayed files would hold a batch the log forgot.
func TestOpenMakesUnsyncedRecordsDurable(t *testing.T) {
	ctx := context.Background()
	// run commits two payloads; the fsync of the second one fails if
	// failAt is its index. It returns the index of the last fsync.
	run := func(m *fsx.Mem, failAt int64) int64 {
		var lastSync int64
		faulty := fsx.NewFaulty(m, fsx.FaultyOptions{FailAt: failAt, Before: func(n int64, op fsx.Op, _ string, _ []byte) {
			if op == fsx.OpSync {
				lastSync = n
			}
		}})
		l, _ := mustOpen(t, faulty, Options{})
		for _, p := range []string{"first", "second"} {
			id, err := l.Begin(ctx, "Op", nil, false)
			must(t, err)
			if err := l.Commit(ctx, id, []byte(p)); err != nil && failAt == 0 {
				t.Fatal(err)
			}
		}
		_ = l.Close()
		return lastSync
	}
	failAt := run(newMem(t), 0)
	m := newMem(t)
	run(m, failAt)
	m.Crash(fsx.ProcessKill)

	want := []string{"1:Op::first", "2:Op::second"}
	_, rec := mustOpen(t, m, Options{})
	if got := entryIDs(rec.Replay); !reflect.DeepEqual(got, want) {
		t.Fatalf("after kill: replay %v, want %v", got, want)
	}
	m.Crash(fsx.PowerLoss)
	_, rec = mustOpen(t, m, Options{})
	if got := entryIDs(rec.Replay); !reflect.DeepEqual(got, want) {
		t.Fatalf("after kill, open and power loss: replay %v, want %v", got, want)
	}
}
