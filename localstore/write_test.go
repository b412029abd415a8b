package localstore

import (
	"context"
	"fmt"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

// TestRoundReusesDeletedFiles checks that an applier round that deletes a
// file and adds one in the same directory renames the old file instead of
// creating a new one, and that the result reads back right.
func TestRoundReusesDeletedFiles(t *testing.T) {
	for _, tc := range []struct {
		name        string
		epochs      int // epochs committed in the measured round
		wantCreates int64
	}{
		// Retention 2: each new epoch deletes one old one from the same directory.
		{"one new epoch", 1, 0},
		{"three new epochs", 3, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			m := fsx.NewMem()
			faulty := fsx.NewFaulty(m, fsx.FaultyOptions{})
			s, _ := openT(t, faulty, "/data", deferredOpts)
			defer s.Close()
			g := "reuse"
			commit := func(e int) {
				must(t, s.Apply(ctx, &engine.Batch{Op: "Commit", Group: []byte(g), Puts: []engine.Put{
					put(g, engine.KindEpochSecrets, fmt.Sprintf("epoch_%d.bin", e), fmt.Sprint("secret ", e)),
				}}))
			}
			for e := range 4 {
				commit(e)
			}
			must(t, s.Flush(ctx))
			before := faulty.Stats()
			s.flushMu.Lock() // keep the applier out: one round for all epochs
			for e := 4; e < 4+tc.epochs; e++ {
				commit(e)
			}
			s.flushMu.Unlock()
			must(t, s.flush(ctx, false))
			after := faulty.Stats()
			if got := after.Ops[fsx.OpCreate] - before.Ops[fsx.OpCreate]; got != tc.wantCreates {
				t.Errorf("round created %d files, want %d", got, tc.wantCreates)
			}
			names, err := s.List(ctx, []byte(g), engine.KindEpochSecrets)
			must(t, err)
			wantNames := []string{fmt.Sprintf("epoch_%d.bin", 2+tc.epochs), fmt.Sprintf("epoch_%d.bin", 3+tc.epochs)}
			if fmt.Sprint(names) != fmt.Sprint(wantNames) {
				t.Fatalf("epoch files %v, want %v", names, wantNames)
			}
			for _, n := range wantNames {
				v, err := s.Get(ctx, key(g, engine.KindEpochSecrets, n))
				must(t, err)
				var e int
				_, _ = fmt.Sscanf(n, "epoch_%d.bin", &e)
				if want := fmt.Sprint("secret ", e); string(v) != want {
					t.Errorf("%s = %q, want %q", n, v, want)
				}
			}
		})
	}
}
