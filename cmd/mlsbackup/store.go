package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"filippo.io/age"
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
	identities bool   // verify, fetch, restore: decrypt, and trust the identity file's signers
	signers    bool   // list: trust the configured signers and the identity file's, if one is named
	identity   string // --identity flag, overrides encryption.identity_file
	// allowUnsigned is --allow-unsigned: unsigned snapshots of earlier
	// versions are read (with a warning).
	allowUnsigned bool
	takeOver      bool // --take-over
	// ownProgress: the command reports progress per item (see
	// newProgress); transfers report none.
	ownProgress bool
}

// openBackup opens the configured destination as an [uploader.Backup] with
// the keys the command needs.
func (a *app) openBackup(ctx context.Context, e *env, need backupNeeds) (*uploader.Backup, error) {
	opts := uploader.Options{
		Prefix:        e.cfg.Destination.Prefix,
		InlineMax:     e.cfg.Destination.InlineMax,
		AgentID:       agentID(e.cfg),
		TakeOver:      need.takeOver,
		AllowUnsigned: need.allowUnsigned,
		Logger:        e.log,
	}
	if !need.ownProgress {
		opts.Progress = uploader.NewTerminalProgress(a.st.err)
	}
	if need.recipients {
		rs, err := agent.Recipients(e.cfg)
		if err != nil {
			return nil, err
		}
		opts.Recipients = rs
	}
	store, err := openStore(ctx, e.cfg, need.recipients)
	if err != nil {
		return nil, err
	}
	if need.identities || need.signers {
		ids, signers, err := readerKeys(e.cfg, need)
		if err != nil {
			return nil, err
		}
		opts.Identities, opts.TrustedSigners = ids, signers
		if need.allowUnsigned {
			fmt.Fprintln(a.st.err, "warning: --allow-unsigned: unsigned snapshots are accepted; anyone who could write to the destination could have planted them")
		}
	}
	return uploader.New(store, opts)
}

// readerKeys returns the identities (if need.identities) and the trusted
// signers of a command that reads backups: encryption.trusted_signers, the
// "# trusted-signer:" lines of the identity file (--identity, else
// encryption.identity_file), and, on the agent's machine, the signer of
// the agent's own signing key if it can be read.
func readerKeys(cfg *config.Config, need backupNeeds) ([]age.Identity, []uploader.Signer, error) {
	signers, err := uploader.ParseSigners(cfg.Encryption.TrustedSigners)
	if err != nil {
		return nil, nil, fmt.Errorf("encryption.trusted_signers: %w", err)
	}
	if key, err := agent.LoadSigningKey(cfg, os.LookupEnv); err == nil && key != nil {
		signers = append(signers, key.Public())
	}
	path := need.identity
	if path == "" {
		path = cfg.Encryption.IdentityFile
	}
	var ids []age.Identity
	switch {
	case path != "":
		var more []uploader.Signer
		if ids, more, err = uploader.ReadIdentityFile(path); err != nil {
			return nil, nil, err
		}
		signers = append(signers, more...)
	case need.identities:
		return nil, nil, usagef("an age identity is needed to decrypt: pass --identity FILE or set encryption.identity_file")
	}
	if len(signers) == 0 && !need.allowUnsigned {
		return nil, nil, usagef("no trusted signer: pass --identity FILE (mlsbackup keygen names the agent's signer in it) or set encryption.trusted_signers; --allow-unsigned reads unsigned backups of earlier versions")
	}
	return ids, signers, nil
}

// agentID names this agent in manifests and in the prefix's lease: the
// configured identity, else the host name.
func agentID(cfg *config.Config) string {
	if cfg.ClientName != "" {
		return cfg.ClientName
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
