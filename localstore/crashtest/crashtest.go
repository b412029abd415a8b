// Package crashtest is the crash-injection harness of localstore: it runs a
// pluggable [Workload] against a store on a fault-injecting in-memory file
// system that stops the world at the k-th mutating operation, for every k,
// then reopens the store and checks that its state equals the state after
// a prefix of the operations that includes every acknowledged one, and that
// the workload can continue. It can also fill the disk now and then during
// the run ([Config.FullEvery]): an operation that fails for lack of space
// must then leave no trace, while every crash point is still checked.
package crashtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"

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
	// perform at least one more operation and check that it works. In a
	// forked run it is called on the live workload, from inside the
	// file-system operation at which the copy was taken (so, with a
	// background applier, concurrently with Run): it must not change the
	// workload's own state, only copies of it.
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
	// Rerun selects the slow strategy: one full run per crash point with
	// the k-th operation failing for real (and every later one), instead of
	// one run that copies the file system before each operation and
	// examines the copy as it would be after a crash there. Both see the
	// same disk states; Rerun also exercises the store's error paths.
	Rerun bool
	// FullEvery, if set, makes the disk full (see fsx.Full) for the last
	// FullFor of every FullEvery counted file-system operations of the run.
	// Operations that fail with localstore.ErrWriteFailed must leave no
	// trace: the model drops them and the workload goes on (a [Workload]
	// must then tolerate such failures). Forked strategy only.
	FullEvery, FullFor int64
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
	// Failed counts operations that failed cleanly on a full disk.
	Failed int
}

const dataDir = "/data"

// Run tests every crash point. It returns the first violation found.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.FullEvery > 0 && cfg.Rerun {
		return Result{}, errors.New("crashtest: FullEvery needs the forked strategy")
	}
	if !cfg.Rerun {
		return runForked(ctx, cfg)
	}
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
	rec := newRecorder(cfg.Options)
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
		res.Operations = rec.attempted()
		res.FSOps = faulty.Count()
		acked, attempted, states := rec.view()
		return true, verify(ctx, mem, cfg, wl, acked, attempted, states, res, false)
	}
	mem.Crash(cfg.Mode)
	acked, attempted, states := rec.view()
	return false, verify(ctx, mem, cfg, wl, acked, attempted, states, res, true)
}

// runForked runs the workload once; before each counted file-system
// operation it copies the file system, crashes the copy (with a torn
// prefix of the write if configured) and verifies a store reopened on it.
func runForked(ctx context.Context, cfg Config) (Result, error) {
	var (
		res  Result
		mu   sync.Mutex // serialises verification (background appliers)
		verr error
	)
	every := int64(max(cfg.Every, 1))
	mem := fsx.NewMem()
	wl := cfg.NewWorkload()
	rec := newRecorder(cfg.Options)
	full := &fsx.Full{}
	var filling atomic.Bool
	filling.Store(cfg.FullEvery > 0)
	before := func(n int64, op fsx.Op, path string, data []byte) {
		if filling.Load() {
			full.Set((n-1)%cfg.FullEvery >= cfg.FullEvery-cfg.FullFor)
		}
		if (n-1)%every != 0 {
			return
		}
		// The copy and the model must be taken at the same instant: no
		// operation may be attempted or acknowledged in between.
		acked, attempted, states, snap := rec.viewWith(mem.Clone)
		mu.Lock()
		defer mu.Unlock()
		if verr != nil || (cfg.MaxPoints > 0 && res.CrashPoints >= cfg.MaxPoints) {
			return
		}
		if cfg.Torn && op == fsx.OpWrite && len(data) > 1 {
			if err := appendTo(snap, path, data[:len(data)/2]); err != nil {
				verr = fmt.Errorf("crash point %d: torn write: %w", n, err)
				return
			}
		}
		snap.Crash(cfg.Mode)
		res.CrashPoints++
		if err := verify(ctx, snap, cfg, wl, acked, attempted, states, &res, true); err != nil {
			verr = fmt.Errorf("crash point %d (%s %s): %w", n, op, path, err)
		}
	}
	faulty := fsx.NewFaulty(mem, fsx.FaultyOptions{Before: before, Inject: full.Inject})
	st, _, err := localstore.Open(ctx, faulty, dataDir, cfg.Options)
	if err != nil {
		return res, fmt.Errorf("open: %w", err)
	}
	rec.st = st
	runErr := wl.Run(ctx, rec)
	filling.Store(false) // space returns for the Close
	full.Set(false)
	if err := st.Close(); err != nil && runErr == nil {
		runErr = err
	}
	mu.Lock()
	defer mu.Unlock()
	if verr != nil {
		return res, verr
	}
	if runErr != nil {
		return res, fmt.Errorf("workload: %w", runErr)
	}
	res.Operations = rec.attempted() + rec.failedOps()
	res.Failed = rec.failedOps()
	res.FSOps = faulty.Count()
	acked, attempted, states := rec.view()
	return res, verify(ctx, mem, cfg, wl, acked, attempted, states, &res, false)
}

// appendTo appends data to the file at path in fsys.
func appendTo(fsys fsx.FS, path string, data []byte) error {
	f, err := fsys.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// verify reopens the store and checks its state against the model: it
// must be the state after the acked operations, or after the one in
// flight too.
func verify(ctx context.Context, mem *fsx.Mem, cfg Config, wl Workload, acked, attempted int, states []map[string][]byte, res *Result, crashed bool) error {
	st, rep, err := localstore.Open(ctx, mem, dataDir, cfg.Options)
	if err != nil {
		return fmt.Errorf("reopen after crash (op %d acked of %d attempted): %w", acked, attempted, err)
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
	case equal(got, states[acked]):
	case attempted > acked && equal(got, states[attempted]):
		res.Unacked++
	default:
		return fmt.Errorf("state after crash is not the state after op %d (acked) or %d (attempted):\n%s",
			acked, attempted, diff(got, states[acked]))
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
