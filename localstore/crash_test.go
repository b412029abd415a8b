package localstore_test

import (
	"context"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/localstore"
	"github.com/mlsbackup/mlsbackup/localstore/crashtest"
)

// crashCase is one configuration of the crash-injection harness.
type crashCase struct {
	name  string
	cfg   crashtest.Config
	short bool // also runs with -short
}

// runCrashCases runs each case with the synthetic workload (ops
// operations from seed over 4 groups), in parallel, and hands each result
// to check.
func runCrashCases(t *testing.T, seed uint64, ops int, tests []crashCase, check func(t *testing.T, res crashtest.Result)) {
	// The harness allocates a fresh in-memory file system per crash point.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && !tc.short {
				t.Skip("slow; runs without -short")
			}
			t.Parallel()
			cfg := tc.cfg
			cfg.NewWorkload = crashtest.NewSynthetic(seed, ops, 4)
			start := time.Now()
			res, err := crashtest.Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Operations != ops {
				t.Fatalf("workload ran %d operations, want %d", res.Operations, ops)
			}
			t.Logf("%d crash points (%d fs ops per full run, %d ops, %d failed cleanly on a full disk; %d replayed, %d un-acked survived) in %v",
				res.CrashPoints, res.FSOps, res.Operations, res.Failed, res.Replayed, res.Unacked, time.Since(start).Round(time.Millisecond))
			check(t, res)
		})
	}
}

func TestCrashInjection(t *testing.T) {
	// Under power loss a torn write is never fsynced, so it is lost
	// like the rest: tearing matters only when the process dies alone.
	tests := []crashCase{
		{"power-loss/sync-apply", crashtest.Config{Mode: fsx.PowerLoss, Options: localstore.Options{SyncApply: true}}, true},
		{"process-kill/torn/sync-apply", crashtest.Config{Mode: fsx.ProcessKill, Torn: true, Options: localstore.Options{SyncApply: true}}, false},
		// The applier runs at once after each commit, so that its rounds
		// interleave with the workload; it checkpoints only on Close.
		{"power-loss/background-apply", crashtest.Config{Mode: fsx.PowerLoss, Options: localstore.Options{ApplyDelay: -1}}, false},
		{"process-kill/torn/background-apply", crashtest.Config{Mode: fsx.ProcessKill, Torn: true, Options: localstore.Options{ApplyDelay: -1}}, false},
		// Checkpoints every few KiB of log: crashes inside the deferred-fsync
		// window (files replaced in place, not yet fsynced) and inside the
		// pre-checkpoint fsyncs of the component files.
		{"power-loss/background-apply/checkpoints", crashtest.Config{Mode: fsx.PowerLoss, Options: localstore.Options{ApplyDelay: -1, CheckpointBytes: 4096}}, false},
		{"process-kill/torn/background-apply/checkpoints", crashtest.Config{Mode: fsx.ProcessKill, Torn: true, Options: localstore.Options{ApplyDelay: -1, CheckpointBytes: 4096}}, false},
		// The same crash points reached by really failing the k-th operation
		// (and all later ones) in a fresh run each; sampled, as it is
		// quadratic.
		{"rerun/power-loss/sync-apply", crashtest.Config{Mode: fsx.PowerLoss, Rerun: true, Every: 13, Options: localstore.Options{SyncApply: true}}, false},
		{"rerun/process-kill/torn/background-apply", crashtest.Config{Mode: fsx.ProcessKill, Torn: true, Rerun: true, Every: 9, Options: localstore.Options{ApplyDelay: -1, CheckpointBytes: 4096}}, false},
	}
	var total atomic.Int64
	t.Cleanup(func() { t.Logf("%d crash points", total.Load()) })
	runCrashCases(t, 42, 200, tests, func(t *testing.T, res crashtest.Result) { total.Add(int64(res.CrashPoints)) })
}

// TestFullDiskUnderCrashInjection runs the crash-injection workload on a
// disk that is full now and then (the last 23 of every 97 file-system
// operations): operations that fail for lack of space must leave no
// trace, the store must recover by itself each time space returns, and a
// crash at any point (before, during or after a failed write and its
// cleanup) must still give the state after the acknowledged operations.
func TestFullDiskUnderCrashInjection(t *testing.T) {
	full := func(c crashtest.Config) crashtest.Config {
		c.FullEvery, c.FullFor = 97, 23
		c.Options.RetryMax = time.Millisecond
		return c
	}
	tests := []crashCase{
		{"power-loss/sync-apply", full(crashtest.Config{Mode: fsx.PowerLoss, Options: localstore.Options{SyncApply: true}}), true},
		{"process-kill/torn/sync-apply", full(crashtest.Config{Mode: fsx.ProcessKill, Torn: true, Options: localstore.Options{SyncApply: true}}), false},
		{"process-kill/torn/background-apply/checkpoints", full(crashtest.Config{Mode: fsx.ProcessKill, Torn: true, Options: localstore.Options{ApplyDelay: -1, CheckpointBytes: 4096}}), true},
		{"power-loss/background-apply/checkpoints", full(crashtest.Config{Mode: fsx.PowerLoss, Options: localstore.Options{ApplyDelay: -1, CheckpointBytes: 4096}}), false},
	}
	runCrashCases(t, 7, 200, tests, func(t *testing.T, res crashtest.Result) {
		if res.Failed == 0 || res.Failed == res.Operations {
			t.Fatalf("%d of %d operations failed on the full disk, want some but not all", res.Failed, res.Operations)
		}
	})
}
