package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

const testDir = "/data/wal"

// newMem returns a Mem whose /data directory exists durably.
func newMem(t *testing.T) *fsx.Mem {
	m := fsx.NewMem()
	must(t, m.MkdirAll("/data", 0o700))
	must(t, m.SyncDir("/"))
	return m
}

func mustOpen(t *testing.T, fsys fsx.FS, opts Options) (*Log, *Recovery) {
	t.Helper()
	l, rec, err := Open(context.Background(), fsys, testDir, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return l, rec
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// entryIDs summarises entries as "id:kind:input:payload".
func entryIDs(es []Entry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, fmt.Sprintf("%d:%s:%s:%s", e.ID, e.Kind, e.Input, e.Payload))
	}
	return out
}

func TestRecoveryScenarios(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name           string
		run            func(t *testing.T, l *Log)
		wantReplay     []string
		wantIncomplete []string
	}{
		{"empty", func(t *testing.T, l *Log) {}, []string{}, []string{}},
		{"committed not applied", func(t *testing.T, l *Log) {
			id, err := l.Begin(ctx, "Add", nil, false)
			must(t, err)
			must(t, l.Commit(ctx, id, []byte("p1")))
		}, []string{"1:Add::p1"}, []string{}},
		{"applied", func(t *testing.T, l *Log) {
			id, _ := l.Begin(ctx, "Add", nil, false)
			must(t, l.Commit(ctx, id, []byte("p1")))
			must(t, l.MarkApplied(ctx, id))
			must(t, l.Sync(ctx))
		}, []string{}, []string{}},
		{"applied mark not synced is replayed", func(t *testing.T, l *Log) {
			id, _ := l.Begin(ctx, "Add", nil, false)
			must(t, l.Commit(ctx, id, []byte("p1")))
			must(t, l.MarkApplied(ctx, id))
		}, []string{"1:Add::p1"}, []string{}},
		{"incomplete with input", func(t *testing.T, l *Log) {
			_, err := l.Begin(ctx, "ProcessCommit", []byte("msg"), true)
			must(t, err)
		}, []string{}, []string{"1:ProcessCommit:msg:"}},
		{"aborted", func(t *testing.T, l *Log) {
			id, _ := l.Begin(ctx, "ProcessCommit", []byte("msg"), true)
			must(t, l.Abort(ctx, id))
			must(t, l.Sync(ctx))
		}, []string{}, []string{}},
		{"replay suffix from first unapplied", func(t *testing.T, l *Log) {
			a, _ := l.Begin(ctx, "A", nil, false)
			b, _ := l.Begin(ctx, "B", nil, false)
			c, _ := l.Begin(ctx, "C", nil, false)
			must(t, l.Commit(ctx, a, []byte("a")))
			must(t, l.Commit(ctx, b, []byte("b")))
			must(t, l.Commit(ctx, c, []byte("c")))
			must(t, l.MarkApplied(ctx, a, c))
			must(t, l.Sync(ctx))
		}, []string{"2:B::b", "3:C::c"}, []string{}},
		{"commit order not begin order", func(t *testing.T, l *Log) {
			a, _ := l.Begin(ctx, "A", nil, false)
			b, _ := l.Begin(ctx, "B", nil, false)
			must(t, l.Commit(ctx, b, []byte("b")))
			must(t, l.Commit(ctx, a, []byte("a")))
		}, []string{"2:B::b", "1:A::a"}, []string{}},
		{"unsynced begin lost", func(t *testing.T, l *Log) {
			_, err := l.Begin(ctx, "X", []byte("in"), false)
			must(t, err)
		}, []string{}, []string{}},
		{"across checkpoints", func(t *testing.T, l *Log) {
			a, _ := l.Begin(ctx, "A", []byte("ia"), true)
			must(t, l.Checkpoint(ctx))
			b, _ := l.Begin(ctx, "B", nil, false)
			must(t, l.Commit(ctx, b, []byte("b")))
			must(t, l.MarkApplied(ctx, b))
			must(t, l.Checkpoint(ctx))
			must(t, l.Commit(ctx, a, []byte("a")))
		}, []string{"1:A:ia:a"}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMem(t)
			l, _ := mustOpen(t, m, Options{})
			tc.run(t, l)
			m.Crash(fsx.PowerLoss) // no Close: a crash
			l2, rec := mustOpen(t, m, Options{})
			defer l2.Close()
			if got := entryIDs(rec.Replay); !reflect.DeepEqual(got, tc.wantReplay) {
				t.Errorf("replay = %v, want %v", got, tc.wantReplay)
			}
			if got := entryIDs(rec.Incomplete); !reflect.DeepEqual(got, tc.wantIncomplete) {
				t.Errorf("incomplete = %v, want %v", got, tc.wantIncomplete)
			}
			// The reopened log keeps going with fresh ids.
			id, err := l2.Begin(ctx, "Next", nil, false)
			must(t, err)
			for _, e := range append(rec.Replay, rec.Incomplete...) {
				if e.ID >= id {
					t.Errorf("new id %d not above recovered id %d", id, e.ID)
				}
			}
		})
	}
}

func TestGroupCommitSharesFsync(t *testing.T) {
	ctx := context.Background()
	f := fsx.NewFaulty(newMem(t), fsx.FaultyOptions{})
	l, _ := mustOpen(t, f, Options{})
	defer l.Close()
	before := f.Stats().Ops[fsx.OpSync]
	const n = 64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			id, err := l.Begin(ctx, "Send", nil, false)
			if err == nil {
				err = l.Commit(ctx, id, []byte{byte(i)})
			}
			if err != nil {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	syncs := f.Stats().Ops[fsx.OpSync] - before
	t.Logf("%d commits, %d fsyncs", n, syncs)
	if syncs < 1 || syncs > n {
		t.Fatalf("fsyncs = %d, want between 1 and %d", syncs, n)
	}
	l.Close()
	_, rec := mustOpen(t, f, Options{})
	if len(rec.Replay) != n {
		t.Fatalf("replay has %d entries, want %d", len(rec.Replay), n)
	}
}

func TestCheckpointDeletesAppliedBytes(t *testing.T) {
	ctx := context.Background()
	m := newMem(t)
	l, _ := mustOpen(t, m, Options{KeepCompleted: 2})
	secret := []byte("EPOCH-SECRET-0123456789")
	a, _ := l.Begin(ctx, "Commit", nil, false)
	must(t, l.Commit(ctx, a, secret))
	open, _ := l.Begin(ctx, "ProcessMessage", []byte("pending-input"), true)
	must(t, l.MarkApplied(ctx, a))
	must(t, l.Checkpoint(ctx))
	if !filesContain(t, m, secret) {
		t.Fatal("segment with an unfinished operation was deleted too early")
	}
	must(t, l.Abort(ctx, open))
	must(t, l.Checkpoint(ctx))
	if filesContain(t, m, secret) {
		t.Fatal("applied payload still on disk after checkpoint")
	}
	if got, want := l.Completed(), []Completed{{ID: a, Kind: "Commit", PayloadLen: len(secret)}, {ID: open, Kind: "ProcessMessage", Aborted: true, InputLen: 13}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("completed = %+v, want %+v", got, want)
	}
	must(t, l.Close())
	l2, rec := mustOpen(t, m, Options{})
	defer l2.Close()
	if len(rec.Replay)+len(rec.Incomplete) != 0 || rec.Segments != 1 {
		t.Fatalf("after checkpoint: %+v, want nothing to do and 1 segment", rec)
	}
}

func filesContain(t *testing.T, m *fsx.Mem, needle []byte) bool {
	t.Helper()
	ents, err := m.ReadDir(testDir)
	must(t, err)
	for _, e := range ents {
		b, err := m.ReadFile(filepath.Join(testDir, e.Name()))
		must(t, err)
		if bytes.Contains(b, needle) {
			return true
		}
	}
	return false
}

func TestClosedAndUnknown(t *testing.T) {
	ctx := context.Background()
	l, _ := mustOpen(t, newMem(t), Options{})
	if err := l.Commit(ctx, 99, nil); !errors.Is(err, ErrUnknownOp) {
		t.Fatalf("commit unknown: %v, want ErrUnknownOp", err)
	}
	id, _ := l.Begin(ctx, "A", nil, false)
	must(t, l.Commit(ctx, id, nil))
	if err := l.Abort(ctx, id); !errors.Is(err, ErrUnknownOp) {
		t.Fatalf("abort committed: %v, want ErrUnknownOp", err)
	}
	must(t, l.Close())
	if _, err := l.Begin(ctx, "A", nil, false); !errors.Is(err, ErrClosed) {
		t.Fatalf("begin after close: %v, want ErrClosed", err)
	}
}
