package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/agent"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/internal/restore"
	"github.com/mlsbackup/mlsbackup/localstore"
)

// dataDir is access to the data directory for restore: the store opened
// directly, the running agent that holds its lock, or (for a directory
// that holds no data yet) either of them opened at the first import.
type dataDir struct {
	target restore.Target
	via    string // how the data directory is reached, for messages
	close  func() error
}

// openDataDir opens the configured data directory for restore, or, when
// an agent holds its lock, connects to that agent. With dryRun it writes
// nothing (it works on a read-only data directory) and a missing data
// directory is not created. Without it, a data directory that holds no
// data yet is neither created nor initialised before the first import, so
// that a restore that fails leaves it as it was.
func openDataDir(ctx context.Context, e *env, dryRun bool) (*dataDir, error) {
	dir := e.cfg.DataDir
	if dryRun {
		return openDataDirReadOnly(ctx, e)
	}
	hasData, err := localstore.Initialized(fsx.OS{}, dir)
	if err != nil {
		return nil, err
	}
	if hasData {
		return openDataDirNow(ctx, e)
	}
	var opened *dataDir
	target := &restore.OpenOnImport{Open: func(ctx context.Context) (restore.Target, error) {
		dd, err := openDataDirNow(ctx, e)
		if err != nil {
			return nil, err
		}
		opened = dd
		return dd.target, nil
	}}
	return &dataDir{target: target, via: "(data directory " + dir + " holds no data yet: it is created at the first import)",
		close: func() error {
			// Import and close never overlap: restore.Run has returned.
			if opened == nil {
				return nil
			}
			return opened.close()
		}}, nil
}

// openDataDirNow opens the data directory (creating it if needed), or the
// agent that holds its lock.
func openDataDirNow(ctx context.Context, e *env) (*dataDir, error) {
	st, _, err := localstore.Open(ctx, dataFS(), e.cfg.DataDir, localstore.Options{
		EpochRetention: e.cfg.Store.RetainedEpochs(),
		SnapshotsKept:  e.cfg.Snapshot.LocalKeep,
		Logger:         e.log,
	})
	if err == nil {
		return &dataDir{target: restore.StoreTarget{Storage: st, Options: engine.Options{RetainEpochs: e.cfg.Store.RetainedEpochs()}},
			via: "directly (no agent is running)", close: onceClose(st.Close)}, nil
	}
	if !errors.Is(err, localstore.ErrLocked) {
		return nil, fmt.Errorf("open data directory %s: %w", e.cfg.DataDir, err)
	}
	return dialDataDirAgent(e)
}

// openDataDirReadOnly opens the data directory without writing to it, or
// the agent that holds its lock (a dry run).
func openDataDirReadOnly(ctx context.Context, e *env) (*dataDir, error) {
	dir := e.cfg.DataDir
	ro, err := localstore.OpenReadOnly(ctx, fsx.OS{}, dir, localstore.Options{Logger: e.log})
	switch {
	case err == nil:
		return &dataDir{target: restore.StoreTarget{Storage: ro, Options: engine.Options{RetainEpochs: e.cfg.Store.RetainedEpochs()}},
			via: "directly, read-only (no agent is running)", close: onceClose(ro.Close)}, nil
	case errors.Is(err, fs.ErrNotExist):
		return &dataDir{target: restore.StoreTarget{Storage: engine.NewMemStorage()},
			via: "(data directory " + dir + " does not exist yet)", close: func() error { return nil }}, nil
	case errors.Is(err, localstore.ErrLocked):
		return dialDataDirAgent(e)
	}
	return nil, fmt.Errorf("open data directory %s: %w", dir, err)
}

// dialDataDirAgent connects to the agent that holds the data directory's
// lock.
func dialDataDirAgent(e *env) (*dataDir, error) {
	c, err := agent.Dial(e.cfg.SocketPath())
	if err != nil {
		return nil, fmt.Errorf("data directory %s is locked by another process, but no agent answers on %s (%v): stop that process, or start the agent, and retry",
			e.cfg.DataDir, e.cfg.SocketPath(), err)
	}
	return &dataDir{target: c, via: "through the running agent on " + e.cfg.SocketPath(), close: onceClose(c.Close)}, nil
}

// A running agent is a restore target: it imports atomically under its own
// group lock.
var _ restore.Target = (*agent.Client)(nil)

// onceClose makes close safe to call twice (deferred and explicit).
func onceClose(close func() error) func() error {
	var (
		done bool
		err  error
	)
	return func() error {
		if !done {
			done, err = true, close()
		}
		return err
	}
}
