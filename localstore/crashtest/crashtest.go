// Package crashtest is the crash-injection harness of localstore: it runs a
// pluggable [Workload] against a store on a fault-injecting in-memory file
// system that stops the world at the k-th mutating operation, for every k,
// then reopens the store and checks that its state equals the state after
// a prefix of the operations that includes every acknowledged one, and that
// the workload can continue.
package crashtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/localstore"
)

// Target is what a workload drives: the engine's storage plus whole-group
// replacement (snapshot import).
type Target interface {
	engine.Storage
	ReplaceGroup(ctx context.Context, group []byte, components []engine.Put) error
}

// Workload is a sequence of operations on a store. A new Workload is made
// for every crash point, so it may keep state (e.g. MLS clients).
type Workload interface {
	// Run performs the operations through t one after another and returns
	// the first error (after a crash, every operation fails).
	Run(ctx context.Context, t Target) error
	// Continue is called with the store reopened after a crash: it must
	// perform at least one more operation and check that it works.
	Continue(ctx context.Context, st *localstore.Store) error
}

// Config describes one harness run.
type Config struct {
	// NewWorkload makes a fresh workload for each crash point.
	NewWorkload func() Workload
	// Options are the store options (retention is mirrored by the model).
	Options localstore.Options
	// Mode is what the crash loses: fsx.PowerLoss or fsx.ProcessKill.
	Mode fsx.CrashMode
	// Torn makes a crashing write leave a torn prefix.
	Torn bool
	// Every tests crash points 1, 1+Every, 1+2*Every, ...; 0 or 1 tests all.
	Every int
	// MaxPoints stops after that many crash points; 0 means no limit.
	MaxPoints int
}

// Result summarises a harness run.
type Result struct {
	// CrashPoints is the number of crash points tested.
	CrashPoints int
	// Operations is the number of workload operations in a crash-free run.
	Operations int
	// FSOps is the number of counted file-system operations of a crash-free run.
	FSOps int64
	// Replayed counts crash points after which recovery replayed a batch.
	Replayed int
	// Unacked counts crash points whose in-flight operation survived.
	Unacked int
}

const dataDir = "/data"

// Run tests every crash point. It returns the first violation found.
func Run(ctx context.Context, cfg Config) (Result, error) {
	var res Result
	every := int64(max(cfg.Every, 1))
	for k := int64(1); cfg.MaxPoints == 0 || res.CrashPoints < cfg.MaxPoints; k += every {
		done, err := runPoint(ctx, cfg, k, &res)
		if err != nil {
			return res, fmt.Errorf("crash point %d: %w", k, err)
		}
		if done {
			return res, nil
		}
		res.CrashPoints++
	}
	return res, nil
}

// runPoint runs the workload crashing at operation k; done is true when
// the workload finished before reaching k.
func runPoint(ctx context.Context, cfg Config, k int64, res *Result) (done bool, err error) {
	mem := fsx.NewMem()
	faulty := fsx.NewFaulty(mem, fsx.FaultyOptions{FailAt: k, Torn: cfg.Torn})
	wl := cfg.NewWorkload()
	rec := &Recorder{retention: retention(cfg.Options), model: map[string][]byte{}}
	rec.states = append(rec.states, map[string][]byte{})
	st, _, openErr := localstore.Open(ctx, faulty, dataDir, cfg.Options)
	var runErr error
	if openErr == nil {
		rec.st = st
		runErr = wl.Run(ctx, rec)
		_ = st.Close()
	}
	if !faulty.Crashed() {
		if openErr != nil || runErr != nil {
			return false, fmt.Errorf("workload failed without a crash: open: %v, run: %v", openErr, runErr)
		}
		res.Operations = len(rec.states) - 1
		res.FSOps = faulty.Count()
		return true, verify(ctx, mem, cfg, wl, rec, res, false)
	}
	mem.Crash(cfg.Mode)
	return false, verify(ctx, mem, cfg, wl, rec, res, true)
}

// verify reopens the store and checks its state against the model.
func verify(ctx context.Context, mem *fsx.Mem, cfg Config, wl Workload, rec *Recorder, res *Result, crashed bool) error {
	st, rep, err := localstore.Open(ctx, mem, dataDir, cfg.Options)
	if err != nil {
		return fmt.Errorf("reopen after crash (op %d acked of %d attempted): %w", rec.acked, rec.attempted(), err)
	}
	defer st.Close()
	if len(rep.Replayed) > 0 {
		res.Replayed++
	}
	got, err := st.Dump(ctx)
	if err != nil {
		return fmt.Errorf("dump after crash: %w", err)
	}
	switch {
	case equal(got, rec.states[rec.acked]):
	case rec.attempted() > rec.acked && equal(got, rec.states[rec.attempted()]):
		res.Unacked++
	default:
		return fmt.Errorf("state after crash is not the state after op %d (acked) or %d (attempted):\n%s",
			rec.acked, rec.attempted(), diff(got, rec.states[rec.acked]))
	}
	if !crashed {
		return nil
	}
	if err := wl.Continue(ctx, st); err != nil {
		return fmt.Errorf("continue after crash: %w", err)
	}
	return nil
}

func retention(o localstore.Options) int {
	if o.EpochRetention <= 0 {
		return 10
	}
	return o.EpochRetention
}

func equal(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}

func diff(got, want map[string][]byte) string {
	var lines []string
	for k, v := range got {
		if w, ok := want[k]; !ok {
			lines = append(lines, "  unexpected "+k)
		} else if !bytes.Equal(v, w) {
			lines = append(lines, "  differs    "+k)
		}
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			lines = append(lines, "  missing    "+k)
		}
	}
	sort.Strings(lines)
	if len(lines) > 20 {
		lines = append(lines[:20], fmt.Sprintf("  ... %d more", len(lines)-20))
	}
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// ErrNoStore is returned by a [Recorder] whose store failed to open.
var ErrNoStore = errors.New("crashtest: store not open")
