package mlscrash

import (
	"context"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/localstore"
)

// TestContinueRejectsLostOperations checks the checker: a store that lost
// acknowledged operations (the disk as it was halfway through the run,
// shown to the world at the end of the run) must be refused, while the
// disk at the end of the run must be accepted.
func TestContinueRejectsLostOperations(t *testing.T) {
	ctx := context.Background()
	mem := fsx.NewMem()
	var old *fsx.Mem
	faulty := fsx.NewFaulty(mem, fsx.FaultyOptions{Before: func(n int64, _ fsx.Op, _ string, _ []byte) {
		if n == 1000 {
			old = mem.Clone()
		}
	}})
	st, _, err := localstore.Open(ctx, faulty, "/data", localstore.Options{SyncApply: true})
	if err != nil {
		t.Fatal(err)
	}
	factory := NewMLS(Config{Seed: 3, Ops: 60, Groups: 2, Options: engine.Options{LeaseBlock: 4}})
	wl := factory().(*MLS)
	if err := wl.Run(ctx, st); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if old == nil {
		t.Fatalf("the run made only %d file-system operations", faulty.Count())
	}
	tests := []struct {
		name    string
		fs      *fsx.Mem
		wantErr string
	}{
		{"end of run", mem, ""},
		{"halfway", old, "recovered state"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := tc.fs.Clone()
			fs.Crash(fsx.PowerLoss)
			st, _, err := localstore.Open(ctx, fs, "/data", localstore.Options{SyncApply: true})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			err = factory().Continue(ctx, st)
			t.Logf("Continue: %v", err)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Continue: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Continue: got %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}
