package wal

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

// TestReadChangesNothing: Read finds what Open recovers (replay and
// incomplete operations, without a torn tail's bytes) and performs no
// mutating file-system operation: no repair, no new segment, no fsync.
func TestReadChangesNothing(t *testing.T) {
	ctx := context.Background()
	m := newMem(t)
	l, _ := mustOpen(t, m, Options{})
	a, _ := l.Begin(ctx, "A", nil, false)
	must(t, l.Commit(ctx, a, []byte("a")))
	b, _ := l.Begin(ctx, "B", nil, false)
	must(t, l.Commit(ctx, b, []byte("b")))
	must(t, l.MarkApplied(ctx, a))
	_, err := l.Begin(ctx, "In", []byte("msg"), true)
	must(t, err)
	must(t, l.Close())
	// A torn tail: half a record's worth of junk after the last one.
	segs, err := m.ReadDir(testDir)
	must(t, err)
	f, err := m.OpenFile(filepath.Join(testDir, segs[len(segs)-1].Name()), os.O_WRONLY|os.O_APPEND, 0o600)
	must(t, err)
	_, err = f.Write([]byte{9, 9, 9, 9, 9, 9, 9})
	must(t, err)
	must(t, f.Sync())
	must(t, f.Close())

	counted := fsx.NewFaulty(m, fsx.FaultyOptions{})
	got, err := Read(ctx, counted, testDir, Options{})
	must(t, err)
	if n := counted.Stats().Total(); n != 0 {
		t.Fatalf("Read made %d mutating file-system operations: %+v", n, counted.Stats())
	}
	l2, want := mustOpen(t, m.Clone(), Options{})
	defer l2.Close()
	if want.Repaired == nil {
		t.Fatal("Open did not find the torn tail")
	}
	if g, w := entryIDs(got.Replay), entryIDs(want.Replay); !reflect.DeepEqual(g, w) || len(g) != 1 {
		t.Errorf("Read replay = %v, Open recovers %v", g, w)
	}
	if g, w := entryIDs(got.Incomplete), entryIDs(want.Incomplete); !reflect.DeepEqual(g, w) || len(g) != 1 {
		t.Errorf("Read incomplete = %v, Open recovers %v", g, w)
	}
	if rec, err := Read(ctx, m, "/data/none", Options{}); err != nil || len(rec.Replay)+len(rec.Incomplete) != 0 {
		t.Errorf("Read of a missing log: %+v, %v; want an empty log", rec, err)
	}
}
