package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/agent"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/internal/restore"
	"github.com/mlsbackup/mlsbackup/localstore"
)

// dataDir is access to the data directory for restore and snapshot: the
// store opened directly, or the running agent that holds its lock.
type dataDir struct {
	store  *localstore.Store // set when opened directly
	client *agent.Client     // set when an agent holds the lock
	empty  bool              // dry run on a directory that does not exist
	close  func() error
}

// via names the way the data directory is reached, for messages.
func (d *dataDir) via(e *env) string {
	switch {
	case d.client != nil:
		return "through the running agent on " + e.cfg.SocketPath()
	case d.empty:
		return "(data directory " + e.cfg.DataDir + " does not exist yet)"
	}
	return "directly (no agent is running)"
}

// openDataDir opens the configured data directory, or, when an agent holds
// its lock, connects to that agent. With readOnly a missing data directory
// is not created.
func openDataDir(ctx context.Context, e *env, readOnly bool) (*dataDir, error) {
	if readOnly {
		if _, err := os.Stat(e.cfg.DataDir); errors.Is(err, fs.ErrNotExist) {
			return &dataDir{empty: true, close: func() error { return nil }}, nil
		}
	}
	st, _, err := localstore.Open(ctx, fsx.OS{}, e.cfg.DataDir, localstore.Options{
		EpochRetention: e.cfg.Store.RetainedEpochs(),
		SnapshotsKept:  e.cfg.Snapshot.LocalKeep,
		Logger:         e.log,
	})
	if err == nil {
		return &dataDir{store: st, close: onceClose(st.Close)}, nil
	}
	if !errors.Is(err, localstore.ErrLocked) {
		return nil, fmt.Errorf("open data directory %s: %w", e.cfg.DataDir, err)
	}
	c, derr := agent.Dial(e.cfg.SocketPath())
	if derr != nil {
		return nil, fmt.Errorf("data directory %s is locked by another process, but no agent answers on %s (%v): stop that process, or start the agent, and retry",
			e.cfg.DataDir, e.cfg.SocketPath(), derr)
	}
	return &dataDir{client: c, close: onceClose(c.Close)}, nil
}

// emptyTarget is a restore target without local groups (a dry run against
// a data directory that does not exist).
func emptyTarget() engine.Storage { return engine.NewMemStorage() }

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
