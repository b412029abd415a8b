package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"
	"github.com/urfave/cli/v2"

	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/internal/restore/quickstart"
	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/dirstore"
)

// demoMarker starts every synthetic snapshot, so the demo can show that no
// object in the bucket contains plaintext.
const demoMarker = "MLSBACKUP-DEMO-PLAINTEXT"

// demoSnapshot is one synthetic snapshot the demo uploads.
type demoSnapshot struct {
	group string
	epoch uint64
	size  int
}

func demoPlan() []demoSnapshot {
	return []demoSnapshot{
		{"alpha-team", 10, 4 << 10},
		{"alpha-team", 20, 64 << 10},
		{"alpha-team", 30, 1 << 20},
		{"beta-team", 10, 16 << 10},
		{"beta-team", 20, 256 << 10},
	}
}

func (a *app) demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "run the quickstart: MLS members, encrypted snapshots, a wiped disk and a restore",
		Description: "Four members run one MLS group, each with its own data directory: adds,\n" +
			"self-updates, a removal and messages. Every --every epochs (and before the\n" +
			"removal) each member's group is snapshotted, encrypted with age to a freshly\n" +
			"generated identity and uploaded. Then bob's disk is wiped; restore brings him\n" +
			"back from the bucket, he catches up on the commits he missed, decrypts alice's\n" +
			"next message and sends from a fresh epoch. Needs no configuration and no\n" +
			"network: the bucket is a local directory, unless --config names a destination;\n" +
			"then it writes under a new prefix of its own beside the configured one, never\n" +
			"inside it, and removes what it wrote at the end (unless --keep or --dir).\n\n" +
			"--pipeline shows only the backup pipeline on synthetic snapshots (no MLS).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Usage: "work in `DIR` (new or empty) and keep it; default: a temporary directory, removed afterwards"},
			&cli.BoolFlag{Name: "keep", Usage: "keep the temporary directory (identity, members' data, bucket) to look at"},
			&cli.IntFlag{Name: "every", Value: quickstart.DefaultEveryEpochs, Usage: "snapshot every `N` epochs"},
			&cli.BoolFlag{Name: "pipeline", Usage: "show only the backup pipeline on synthetic snapshots"},
		},
		Action: a.runDemo,
	}
}

func (a *app) runDemo(c *cli.Context) error {
	if err := positional(c, 0, 0, "[--dir DIR] [--keep] [--every N] [--pipeline]"); err != nil {
		return err
	}
	if c.Int("every") < 1 {
		return usagef("--every: must be at least 1, got %d", c.Int("every"))
	}
	if err := checkLogFlags(c); err != nil {
		return err
	}
	logCfg := config.Log{Level: "warn", Format: "text"}
	if l := c.String("log-level"); l != "" {
		logCfg.Level = l
	}
	if f := c.String("log-format"); f != "" {
		logCfg.Format = f
	}
	log := newLogger(a.st.err, logCfg)

	dir, keep := c.String("dir"), c.Bool("keep")
	if dir == "" {
		tmp, err := os.MkdirTemp("", "mlsbackup-demo-")
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		dir = tmp
		if !keep {
			defer os.RemoveAll(tmp)
		}
	} else {
		keep = true
		if err := emptyDir(dir); err != nil {
			return err
		}
	}
	if c.Bool("pipeline") {
		d := &demo{out: a.st.out, dir: dir, log: log, start: time.Now()}
		if err := d.run(c.Context); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		d.summary(keep)
		return nil
	}
	return a.runQuickstart(c, dir, keep, log)
}

// runQuickstart runs the MLS quickstart in dir. With --config, snapshots go
// to the configured destination under a prefix of the demo's own (see
// demoPrefix), removed afterwards unless kept; otherwise to dir/bucket.
func (a *app) runQuickstart(c *cli.Context, dir string, keep bool, log *slog.Logger) (err error) {
	opts := quickstart.Options{Dir: dir, EveryEpochs: c.Int("every"), Out: a.st.out, Logger: log}
	if c.String("config") != "" {
		e, err := a.loadEnv(c)
		if err != nil {
			return err
		}
		store, err := openStore(c.Context, e.cfg, true)
		if err != nil {
			return err
		}
		prefix, err := demoPrefix(c.Context, store, e.cfg.Destination.Prefix)
		if err != nil {
			return err
		}
		opts.Store, opts.Prefix, opts.Logger = store, prefix, e.log
		fmt.Fprintf(a.st.out, "The demo writes its snapshots under the new prefix %s of %s (the configured prefix %q is not touched).\n",
			prefix, store, e.cfg.Destination.Prefix)
		defer func() {
			if keep {
				fmt.Fprintf(a.st.out, "The demo's objects are kept under %s/ of %s.\n", prefix, store)
				return
			}
			n, cerr := removePrefix(context.WithoutCancel(c.Context), store, prefix)
			if cerr != nil {
				err = errors.Join(err, fmt.Errorf("demo: remove its objects under %s/: %w", prefix, cerr))
				return
			}
			fmt.Fprintf(a.st.out, "Removed the demo's %d objects under %s/.\n", n, prefix)
		}()
	}
	sum, err := quickstart.Run(c.Context, opts)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	printSummary(a.st.out, sum, keep, dir)
	return nil
}

// printSummary prints the quickstart's summary. Summary.Print is gaining a
// "kept" argument (internal/restore/quickstart, in flight); this accepts
// both forms until that lands, so neither commit breaks the build.
func printSummary(w io.Writer, sum any, keep bool, dir string) {
	switch p := sum.(type) {
	case interface{ Print(io.Writer, bool) }:
		p.Print(w, keep)
	case interface{ Print(io.Writer) }:
		p.Print(w)
		if !keep {
			fmt.Fprintf(w, "\n(The work directory %s is removed now; run with --keep or --dir DIR to keep it.)\n", dir)
		}
	}
}

// emptyDir creates dir or accepts it if it is empty.
func emptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("demo: %s is not empty; pass a new or empty --dir", dir)
	}
	return nil
}

// demo is one run of the pipeline-only demo (--pipeline).
type demo struct {
	out   io.Writer
	dir   string
	log   *slog.Logger
	start time.Time

	step      int
	recipient string
	plain     map[string][]byte // group/epoch → plaintext
	uploaded  []uploader.Manifest
	fetched   uploader.Manifest
	objects   int
	wouldDrop int
}

func (d *demo) say(format string, args ...any) {
	d.step++
	fmt.Fprintf(d.out, "\n[%d] %s\n", d.step, fmt.Sprintf(format, args...))
}

func (d *demo) detail(format string, args ...any) {
	fmt.Fprintf(d.out, "    %s\n", fmt.Sprintf(format, args...))
}

func (d *demo) identityPath() string { return filepath.Join(d.dir, "identity.txt") }
func (d *demo) bucketPath() string   { return filepath.Join(d.dir, "bucket") }

func (d *demo) run(ctx context.Context) error {
	fmt.Fprintf(d.out, "mlsbackup demo --pipeline: the backup pipeline on synthetic snapshots, in %s\n", d.dir)

	d.say("Generate an age identity and the agent's signing key (what `mlsbackup keygen` does)")
	key, err := uploader.GenerateSigningKey()
	if err != nil {
		return err
	}
	recipient, err := uploader.GenerateIdentity(fsx.OS{}, d.identityPath(), time.Now(), key.Public())
	if err != nil {
		return err
	}
	d.recipient = recipient
	d.detail("identity (private, needed only to restore): %s", d.identityPath())
	d.detail("recipient (public, the agent encrypts to):  %s", recipient)
	d.detail("signer (the agent signs with its key):      %s", key.Public())

	rcpt, err := uploader.ParseRecipient(recipient)
	if err != nil {
		return err
	}
	ids, signers, err := uploader.ReadIdentityFile(d.identityPath())
	if err != nil {
		return err
	}
	store, err := dirstore.New(d.bucketPath())
	if err != nil {
		return err
	}
	// The uploading side gets only the recipient and the signing key, as
	// the agent will; the restoring side trusts the signer the identity
	// file names.
	agentSide, err := uploader.New(store, uploader.Options{
		Prefix: "mlsbackup", Recipients: []age.Recipient{rcpt}, SigningKey: key, AgentID: "demo-agent", Logger: d.log,
	})
	if err != nil {
		return err
	}
	restoreSide, err := uploader.New(store, uploader.Options{Prefix: "mlsbackup", Identities: ids, TrustedSigners: signers, Logger: d.log})
	if err != nil {
		return err
	}

	if err := d.upload(ctx, agentSide); err != nil {
		return err
	}
	if err := d.listAndVerify(ctx, restoreSide); err != nil {
		return err
	}
	if err := d.fetchBack(ctx, restoreSide); err != nil {
		return err
	}
	if err := d.scanForPlaintext(); err != nil {
		return err
	}
	if err := d.wrongIdentity(ctx, store); err != nil {
		return err
	}
	return d.previewRetention(ctx, agentSide)
}

func (d *demo) upload(ctx context.Context, b *uploader.Backup) error {
	d.say("Encrypt and upload synthetic group snapshots to a local directory bucket")
	d.plain = map[string][]byte{}
	for _, s := range demoPlan() {
		data := make([]byte, s.size)
		if _, err := rand.Read(data); err != nil {
			return err
		}
		copy(data, fmt.Sprintf("%s group=%s epoch=%d\n", demoMarker, s.group, s.epoch))
		m, err := b.Upload(ctx, uploader.SnapshotMeta{
			GroupID: []byte(s.group), Epoch: s.epoch, Size: int64(len(data)), Format: "mlsbackup-demo-synthetic",
		}, bytes.NewReader(data))
		if err != nil {
			return err
		}
		d.plain[demoKey(m.GroupID, m.Epoch)] = data
		d.uploaded = append(d.uploaded, m)
		d.detail("group %-10s epoch %2d: %8d bytes -> %8d encrypted  %s", s.group, s.epoch, m.PlaintextSize, m.CiphertextSize, m.DataKey)
	}
	return nil
}

func demoKey(group []byte, epoch uint64) string { return fmt.Sprintf("%s/%d", group, epoch) }

func (d *demo) listAndVerify(ctx context.Context, b *uploader.Backup) error {
	d.say("List the bucket (what `mlsbackup list` prints; group ids are hex)")
	ms, err := b.List(ctx, nil)
	if err != nil {
		return err
	}
	if len(ms) != len(d.uploaded) {
		return fmt.Errorf("listed %d snapshots, uploaded %d", len(ms), len(d.uploaded))
	}
	var buf bytes.Buffer
	printManifests(&buf, b.String(), ms)
	for _, line := range bytes.Split(bytes.TrimRight(buf.Bytes(), "\n"), []byte("\n")) {
		d.detail("%s", line)
	}

	d.say("Verify every snapshot with the identity (what `mlsbackup verify --all` does)")
	for _, m := range ms {
		if err := b.Verify(ctx, m); err != nil {
			return err
		}
	}
	d.detail("%d snapshots decrypted; sizes and SHA-256 of ciphertext and plaintext match their manifests", len(ms))
	return nil
}

func (d *demo) fetchBack(ctx context.Context, b *uploader.Backup) error {
	d.say("Fetch the newest snapshot of alpha-team back (what `mlsbackup fetch` does)")
	ms, err := b.List(ctx, []byte("alpha-team"))
	if err != nil {
		return err
	}
	m, err := uploader.Latest(ms, []byte("alpha-team"))
	if err != nil {
		return err
	}
	out := filepath.Join(d.dir, "fetched.snapshot")
	if err := b.FetchFile(ctx, m, out); err != nil {
		return err
	}
	got, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	want := d.plain[demoKey(m.GroupID, m.Epoch)]
	if !bytes.Equal(got, want) {
		return fmt.Errorf("fetched snapshot of %s differs from the uploaded one", m.Ref)
	}
	d.fetched = m
	d.detail("epoch %d, %d bytes, SHA-256 %x", m.Epoch, len(got), sha256.Sum256(got))
	d.detail("identical to the snapshot that was uploaded")
	return nil
}

func (d *demo) scanForPlaintext() error {
	d.say("Check that the bucket holds no plaintext")
	marker := []byte(demoMarker)
	err := filepath.WalkDir(d.bucketPath(), func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		d.objects++
		if bytes.Contains(data, marker) {
			return fmt.Errorf("object %s contains plaintext", path)
		}
		return nil
	})
	if err != nil {
		return err
	}
	d.detail("%d objects scanned (snapshots, manifests, lease): none contains a snapshot's bytes in the clear", d.objects)
	return nil
}

func (d *demo) wrongIdentity(ctx context.Context, store uploader.ObjectStore) error {
	d.say("Try to read a snapshot with a different identity")
	other, err := age.GenerateX25519Identity()
	if err != nil {
		return err
	}
	b, err := uploader.New(store, uploader.Options{Prefix: "mlsbackup", Identities: []age.Identity{other}, Logger: d.log})
	if err != nil {
		return err
	}
	err = b.Verify(ctx, d.fetched)
	if !errors.Is(err, uploader.ErrNoIdentity) {
		return fmt.Errorf("a wrong identity gave %v, want %v", err, uploader.ErrNoIdentity)
	}
	d.detail("refused, as it must be: %v", err)
	return nil
}

func (d *demo) previewRetention(ctx context.Context, b *uploader.Backup) error {
	d.say("Preview retention keeping the newest snapshot per group (`mlsbackup prune --dry-run`)")
	rep, err := b.Prune(ctx, uploader.Retention{KeepLast: 1}, true)
	if err != nil {
		return err
	}
	for _, r := range rep.Deleted {
		d.detail("would delete group %s epoch %d", r.GroupID, r.Epoch)
	}
	d.detail("would keep %d (the newest of each group is never deleted)", len(rep.Kept))
	d.wouldDrop = len(rep.Deleted)
	return nil
}

func (d *demo) summary(keep bool) {
	fmt.Fprintf(d.out, "\nSummary (%.1fs)\n", time.Since(d.start).Seconds())
	fmt.Fprintf(d.out, "  - %d snapshots of 2 groups were encrypted with age to one recipient and uploaded;\n", len(d.uploaded))
	fmt.Fprintf(d.out, "    each became visible only when its manifest (written last) existed.\n")
	fmt.Fprintf(d.out, "  - All were listed and verified; one was fetched back byte for byte.\n")
	fmt.Fprintf(d.out, "  - The bucket (%d objects) holds no plaintext, and another identity cannot read it.\n", d.objects)
	fmt.Fprintf(d.out, "  - Retention would remove %d older snapshots and keep the newest of each group.\n", d.wouldDrop)
	fmt.Fprintf(d.out, "  Not shown here: real MLS groups — members, epochs, a wiped disk and a restore\n")
	fmt.Fprintf(d.out, "  that catches up. Run 'mlsbackup demo' without --pipeline for that.\n")
	if keep {
		fmt.Fprintf(d.out, "\nKept %s. Decrypt a snapshot with the real age CLI:\n", d.dir)
		fmt.Fprintf(d.out, "  age -d -i %s %s\n", d.identityPath(), filepath.Join(d.bucketPath(), filepath.FromSlash(d.fetched.DataKey)))
	}
}
