package quickstart

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"time"

	"filippo.io/age"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/dirstore"
)

// SnapshotFormat is recorded in the manifests of the demo's uploads; it is
// the format name the agent uses for engine GroupSnapshots.
const SnapshotFormat = "mlsbackup-group-snapshot-v1"

// DefaultEveryEpochs is the default snapshot interval in epochs.
const DefaultEveryEpochs = 3

// GroupID is the id of the demo's group.
const GroupID = "quickstart-team"

// Options configure Run.
type Options struct {
	// Dir is the work directory: members/<name>/ data directories,
	// identity.txt and (without Store) bucket/. It must exist.
	Dir string
	// EveryEpochs is the snapshot interval; default [DefaultEveryEpochs].
	EveryEpochs int
	// Store is the destination; nil means a directory bucket in Dir/bucket.
	Store uploader.ObjectStore
	// Prefix is prepended to each member's prefix in Store.
	Prefix string
	// Out receives progress lines; nil discards them.
	Out io.Writer
	// Logger receives the pipeline's log lines; nil discards them.
	Logger *slog.Logger
}

// Summary is what a run did.
type Summary struct {
	// Members are the members' names.
	Members []string
	// Epoch is the group's final epoch.
	Epoch uint64
	// Commits and Messages count what the delivery service carried.
	Commits, Messages int
	// Snapshots lists the manifests of every uploaded snapshot.
	Snapshots []uploader.Manifest
	// IdentityFile is the generated age identity; Recipient its recipient.
	IdentityFile, Recipient string
	// Destination names the bucket; BucketDir is its directory when it is
	// the local directory bucket (else empty).
	Destination, BucketDir string
	// RestoredFrom is the snapshot bob was restored from; Missed the number
	// of commits he processed afterwards to catch up.
	RestoredFrom uploader.Manifest
	Missed       int
	// SentEpoch is the epoch bob's first message after the restore used.
	SentEpoch uint64
	// Elapsed is the run's duration.
	Elapsed time.Duration
}

// Run plays the quickstart scenario; see the package doc.
func Run(ctx context.Context, opts Options) (*Summary, error) {
	d, err := newDemo(opts)
	if err != nil {
		return nil, err
	}
	defer d.closeAll()
	if err := d.script(ctx); err != nil {
		return d.sum, err
	}
	if err := d.closeAll(); err != nil {
		return d.sum, err
	}
	d.sum.Elapsed = time.Since(d.start)
	return d.sum, nil
}

// demo is one run's state.
type demo struct {
	opts       Options
	start      time.Time
	out        io.Writer
	every      uint64
	store      uploader.ObjectStore
	recipients []age.Recipient
	identities []age.Identity
	signers    []uploader.Signer // trusted: those the identity file names
	signingKey *uploader.SigningKey
	members    []*member
	byName     map[string]*member
	commits    [][]byte // every commit delivered, in order (the delivery service's log)
	epochOf    []uint64 // the epoch each commit leads from
	sum        *Summary
}

func newDemo(opts Options) (*demo, error) {
	if opts.Dir == "" {
		return nil, errors.New("quickstart: no work directory")
	}
	if opts.EveryEpochs <= 0 {
		opts.EveryEpochs = DefaultEveryEpochs
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	d := &demo{opts: opts, start: time.Now(), out: opts.Out, every: uint64(opts.EveryEpochs),
		byName: map[string]*member{}, sum: &Summary{}}
	d.sum.IdentityFile = filepath.Join(opts.Dir, "identity.txt")
	var err error
	if d.signingKey, err = uploader.GenerateSigningKey(); err != nil {
		return nil, err
	}
	recipient, err := uploader.GenerateIdentity(fsx.OS{}, d.sum.IdentityFile, time.Now(), d.signingKey.Public())
	if err != nil {
		return nil, fmt.Errorf("generate age identity: %w", err)
	}
	d.sum.Recipient = recipient
	r, err := uploader.ParseRecipient(recipient)
	if err != nil {
		return nil, fmt.Errorf("parse recipient: %w", err)
	}
	ids, signers, err := uploader.ReadIdentityFile(d.sum.IdentityFile)
	if err != nil {
		return nil, err
	}
	d.signers = signers
	d.recipients, d.identities = []age.Recipient{r}, ids
	d.store = opts.Store
	if d.store == nil {
		bucket := filepath.Join(opts.Dir, "bucket")
		d.sum.BucketDir = bucket
		if err := os.MkdirAll(bucket, 0o700); err != nil {
			return nil, fmt.Errorf("create bucket: %w", err)
		}
		if d.store, err = dirstore.New(bucket); err != nil {
			return nil, fmt.Errorf("open bucket: %w", err)
		}
	}
	d.sum.Destination = d.store.String()
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		m := newMember(opts.Dir, name)
		if m.backup, err = d.backupFor(name); err != nil {
			return nil, err
		}
		d.members = append(d.members, m)
		d.byName[name] = m
		d.sum.Members = append(d.sum.Members, name)
	}
	return d, nil
}

// backupFor is a member's backup set: its own prefix, as separate agents
// have (the prefix's lease names one writer).
func (d *demo) backupFor(name string) (*uploader.Backup, error) {
	b, err := uploader.New(d.store, uploader.Options{
		Prefix:         path.Join(d.opts.Prefix, name),
		Recipients:     d.recipients,
		Identities:     d.identities,
		SigningKey:     d.signingKey,
		TrustedSigners: d.signers,
		AgentID:        name,
		Logger:         d.opts.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("backup set of %s: %w", name, err)
	}
	return b, nil
}

func (d *demo) closeAll() error {
	var errs []error
	for _, m := range d.members {
		errs = append(errs, m.close())
	}
	return errors.Join(errs...)
}

// say writes one progress line.
func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, "[%5.2fs] %s\n", time.Since(d.start).Seconds(), fmt.Sprintf(format, args...))
}

// active are the members currently in the group and online.
func (d *demo) active() []*member {
	var out []*member
	for _, m := range d.members {
		if m.group != nil && !m.removed && m.store != nil {
			out = append(out, m)
		}
	}
	return out
}

// suiteID is the demo group's cipher suite.
const suiteID = suite.X25519AES128GCMSHA256Ed25519

// create has m create the group.
func (d *demo) create(ctx context.Context, m *member) error {
	g, err := m.client.CreateGroup(ctx, suiteID, []byte(GroupID))
	if err != nil {
		return fmt.Errorf("%s creates the group: %w", m.name, err)
	}
	m.group = g
	d.say("epoch 0: %s created group %q (cipher suite 0x%04x) in %s", m.name, GroupID, g.CipherSuite(), m.dir)
	return nil
}

// snapshot exports m's group from a consistent view, keeps a local copy and
// uploads it encrypted.
func (d *demo) snapshot(ctx context.Context, m *member, why string) error {
	data, info, err := engine.ExportSnapshot(ctx, m.store, m.group.GroupID())
	if err != nil {
		return fmt.Errorf("snapshot of %s: %w", m.name, err)
	}
	if err := m.store.SaveSnapshot(ctx, info.GroupID, info.Epoch, data); err != nil {
		return fmt.Errorf("local snapshot of %s: %w", m.name, err)
	}
	man, err := m.backup.Upload(ctx, uploader.SnapshotMeta{
		GroupID: info.GroupID, Epoch: info.Epoch, Size: int64(len(data)),
		Format: SnapshotFormat, EpochAuthenticator: info.EpochAuthenticator,
	}, bytesReader(data))
	if err != nil {
		return fmt.Errorf("upload snapshot of %s: %w", m.name, err)
	}
	d.sum.Snapshots = append(d.sum.Snapshots, man)
	d.say("  snapshot: %s's state at epoch %d (%s, %d bytes) -> age-encrypted -> %s", m.name, info.Epoch, why, len(data), man.DataKey)
	return nil
}

// epochReached snapshots m's group if its epoch is a multiple of the
// interval.
func (d *demo) epochReached(ctx context.Context, m *member) error {
	if e := m.group.Epoch(); e > 0 && e%d.every == 0 {
		return d.snapshot(ctx, m, fmt.Sprintf("every %d epochs", d.every))
	}
	return nil
}
