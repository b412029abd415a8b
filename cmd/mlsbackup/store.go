package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/mlsbackup/mlsbackup/internal/agent"
	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// openStore constructs the object store that cfg's destination names.
// destination.prefix is applied by [uploader.Options.Prefix], not here.
// A local directory destination must exist already unless create is set,
// so that a mistyped path is reported rather than listed as empty.
func openStore(ctx context.Context, cfg *config.Config, create bool) (uploader.ObjectStore, error) {
	if cfg.Destination.Type != config.DestinationS3 && !create {
		dir := cfg.BucketDir()
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open destination: directory %s: %w (nothing has been backed up there yet?)", dir, uploader.ErrNoBucket)
		}
	}
	return agent.OpenDestination(ctx, cfg)
}

// backupNeeds says which keys a command needs loaded.
type backupNeeds struct {
	recipients bool   // uploads
	identities bool   // verify, fetch
	identity   string // --identity flag, overrides encryption.identity_file
	takeOver   bool   // --take-over
}

// openBackup opens the configured destination as an [uploader.Backup] with
// the keys the command needs.
func (a *app) openBackup(ctx context.Context, e *env, need backupNeeds) (*uploader.Backup, error) {
	opts := uploader.Options{
		Prefix:    e.cfg.Destination.Prefix,
		InlineMax: e.cfg.Destination.InlineMax,
		AgentID:   agentID(e.cfg),
		TakeOver:  need.takeOver,
		Logger:    e.log,
		Progress:  uploader.NewTerminalProgress(a.st.err),
	}
	if need.recipients {
		rs, err := agent.Recipients(e.cfg)
		if err != nil {
			return nil, err
		}
		opts.Recipients = rs
	}
	if need.identities {
		path := need.identity
		if path == "" {
			path = e.cfg.Encryption.IdentityFile
		}
		if path == "" {
			return nil, usagef("an age identity is needed to decrypt: pass --identity FILE or set encryption.identity_file")
		}
		ids, err := uploader.ReadIdentitiesFile(path)
		if err != nil {
			return nil, err
		}
		opts.Identities = ids
	}
	store, err := openStore(ctx, e.cfg, need.recipients)
	if err != nil {
		return nil, err
	}
	return uploader.New(store, opts)
}

// agentID names this agent in manifests and in the prefix's lease: the
// configured identity, else the host name.
func agentID(cfg *config.Config) string {
	if cfg.Identity != "" {
		return cfg.Identity
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "mlsbackup"
}

// groupFlag parses --group as a hex group id; nil when not given.
func groupFlag(c *cli.Context) ([]byte, error) {
	s := c.String("group")
	if s == "" {
		return nil, nil
	}
	id, err := hex.DecodeString(s)
	if err != nil || len(id) == 0 {
		return nil, usagef("--group: %q is not a hex group id", s)
	}
	return id, nil
}
