package mlscrash

import (
	"context"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/localstore"
	"github.com/mlsbackup/mlsbackup/localstore/crashtest"
)

// TestMLSCrashInjection runs the MLS workload under crashtest: the member
// under test's store crashes at every sampled file-system operation, is
// reopened and checked, and the groups continue.
func TestMLSCrashInjection(t *testing.T) {
	const ops = 220
	// LeaseBlock 1: every message the member under test sends writes its
	// generation lease, so sends are crash points too.
	wl := Config{Seed: 7, Ops: ops, Groups: 3, Options: engine.Options{LeaseBlock: 1}}
	tests := []struct {
		name  string
		cfg   crashtest.Config
		short bool
	}{
		{"power-loss/torn", crashtest.Config{Mode: fsx.PowerLoss, Torn: true, Every: 1}, true},
		{"process-kill/every-4", crashtest.Config{Mode: fsx.ProcessKill, Every: 4}, false},
		// A fresh run per crash point, failing the k-th operation for real
		// (sampled: each point re-runs the workload).
		{"rerun/process-kill/torn", crashtest.Config{Mode: fsx.ProcessKill, Torn: true, Rerun: true, Every: 151}, false},
	}
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	var total atomic.Int64
	t.Cleanup(func() { t.Logf("%d crash points (MLS workload)", total.Load()) })
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && !tc.short {
				t.Skip("slow; runs without -short")
			}
			t.Parallel()
			cfg := tc.cfg
			if testing.Short() {
				cfg.Every *= 10
			}
			// Continue must see the world exactly at the crash: with a
			// synchronous apply every file-system operation of the store
			// happens in the workload's goroutine.
			cfg.Options = localstore.Options{SyncApply: true}
			cfg.NewWorkload = NewMLS(wl)
			start := time.Now()
			res, err := crashtest.Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Operations < ops {
				t.Fatalf("workload ran %d store operations, want at least %d", res.Operations, ops)
			}
			t.Logf("%d crash points, every %d of %d fs ops (%d store ops; %d replayed, %d un-acked survived) in %v",
				res.CrashPoints, max(cfg.Every, 1), res.FSOps, res.Operations, res.Replayed, res.Unacked, time.Since(start).Round(time.Millisecond))
			total.Add(int64(res.CrashPoints))
		})
	}
}
