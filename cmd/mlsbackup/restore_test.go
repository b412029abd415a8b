package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/internal/agent"
	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/localstore"
	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/dirstore"
)

// restoreFixture is a config with a data directory and a directory bucket,
// and the identity that reads the bucket.
type restoreFixture struct {
	dir, data, config, identity, recipient string
	keys                                   genKeys
}

func newRestoreFixture(t *testing.T) *restoreFixture {
	t.Helper()
	dir := t.TempDir()
	f := &restoreFixture{dir: dir, data: filepath.Join(dir, "data"), config: filepath.Join(dir, "config.yaml"),
		identity: filepath.Join(dir, "identity.txt")}
	f.keys = keygen(t, f.identity)
	f.recipient = f.keys.recipient
	doc := fmt.Sprintf("data_dir: %s\nclient_name: alice\ndestination:\n  type: dir\n  prefix: team\n  dir: {path: %s}\n%s  identity_file: %s\n",
		f.data, filepath.Join(dir, "bucket"), f.keys.agentYAML(), f.identity)
	if err := os.WriteFile(f.config, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *restoreFixture) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCLI(t, append([]string{"--config", f.config}, args...)...)
}

// withStore opens the data directory directly for fn.
func (f *restoreFixture) withStore(t *testing.T, fn func(ctx context.Context, st *localstore.Store)) {
	t.Helper()
	ctx := context.Background()
	st, _, err := localstore.Open(ctx, fsx.OS{}, f.data, localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fn(ctx, st)
}

// advance commits a self-update in group gid, creating the group first if
// needed, and returns the new epoch.
func (f *restoreFixture) advance(t *testing.T, gid string) uint64 {
	t.Helper()
	var epoch uint64
	f.withStore(t, func(ctx context.Context, st *localstore.Store) {
		g, err := engine.LoadGroup(ctx, st, []byte(gid), engine.Options{})
		if err != nil {
			if g, err = engine.NewClient(st, []byte("alice"), engine.Options{}).CreateGroup(ctx, suite.X25519AES128GCMSHA256Ed25519, []byte(gid)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := g.Commit(ctx, engine.CommitOptions{SelfUpdate: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := g.MergePendingCommit(ctx); err != nil {
			t.Fatal(err)
		}
		epoch = g.Epoch()
	})
	return epoch
}

// upload snapshots the groups from the data directory into the bucket as
// the agent does (export, encrypt, upload with the epoch authenticator).
func (f *restoreFixture) upload(t *testing.T, gids ...string) {
	t.Helper()
	r, err := uploader.ParseRecipient(f.recipient)
	if err != nil {
		t.Fatal(err)
	}
	store, err := dirstore.New(filepath.Join(f.dir, "bucket"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := uploader.New(store, uploader.Options{Prefix: "team", Recipients: []age.Recipient{r}, SigningKey: f.keys.key(t), AgentID: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	f.withStore(t, func(ctx context.Context, st *localstore.Store) {
		for _, gid := range gids {
			if _, err := uploadSnapshot(ctx, b, st, []byte(gid)); err != nil {
				t.Fatal(err)
			}
		}
		// As the agent does at the end of a pass.
		if _, err := b.WriteHead(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// localGroup reports the group's local epoch and restored flag.
func (f *restoreFixture) localGroup(t *testing.T, gid string) (uint64, bool) {
	t.Helper()
	var (
		epoch    uint64
		restored bool
	)
	f.withStore(t, func(ctx context.Context, st *localstore.Store) {
		g, err := engine.LoadGroup(ctx, st, []byte(gid), engine.Options{})
		if err != nil {
			t.Fatalf("load %s: %v", gid, err)
		}
		epoch, restored = g.Epoch(), g.Restored()
	})
	return epoch, restored
}

// TestRestoreLostDataDir drives restore through the CLI without an agent: a lost data directory, dry run, --all, same epoch,
// rollback refused and forced, --json.
func TestRestoreLostDataDir(t *testing.T) {
	f := newRestoreFixture(t)
	rg, other := hex.EncodeToString([]byte("rg")), hex.EncodeToString([]byte("other"))
	f.advance(t, "rg")
	f.advance(t, "other")
	f.upload(t, "rg", "other")
	f.advance(t, "rg")
	f.upload(t, "rg")

	if err := os.RemoveAll(f.data); err != nil {
		t.Fatal(err)
	}
	mustRun(t, f, []string{"restore", "--all", "--dry-run"}, exitOK, "0 restored, 2 would be restored")
	if _, err := os.Stat(f.data); !os.IsNotExist(err) {
		t.Fatalf("dry run created the data directory: %v", err)
	}
	mustRun(t, f, []string{"restore", "--all"}, exitOK, "2 restored,", "restored  group "+rg+" at epoch 2 (was: not stored locally)",
		"restored  group "+other+" at epoch 1", "group update", "head  team/heads/", "written 0s ago by alice")
	if e, restored := f.localGroup(t, "rg"); e != 2 || !restored {
		t.Fatalf("rg after restore: epoch %d restored %v, want 2 true", e, restored)
	}
	mustRun(t, f, []string{"restore", "--group", rg}, exitOK, "up to date  group "+rg+" is already at epoch 2")
	code, out, errOut := f.run(t, "restore", "--group", rg, "--epoch", "1")
	if code != exitFailure || !strings.Contains(errOut, "older than the local group") || !strings.Contains(errOut, "--force") || !strings.Contains(errOut, rg) {
		t.Fatalf("rollback: exit %d\n%s\n%s", code, out, errOut)
	}
	if e, _ := f.localGroup(t, "rg"); e != 2 {
		t.Fatalf("refused rollback changed the group to epoch %d", e)
	}
	mustRun(t, f, []string{"restore", "--group", rg, "--epoch", "1", "--force"}, exitOK, "restored  group "+rg+" at epoch 1 (was: local epoch 2)")
	code, out, errOut = f.run(t, "restore", "--group", rg, "--json")
	var views []restoreView
	if code != exitOK || json.Unmarshal([]byte(out), &views) != nil || len(views) != 1 ||
		views[0].Status != "restored" || views[0].Epoch != 2 || views[0].LocalEpoch == nil || *views[0].LocalEpoch != 1 || !views[0].AuthenticatorChecked ||
		!strings.HasPrefix(views[0].Head, "team/heads/") || views[0].HeadWritten == nil {
		t.Fatalf("restore --json: exit %d, %+v\n%s\n%s", code, views, out, errOut)
	}
}

// TestRestoreRefusesDeletedNewestSnapshot: when the newest snapshot the
// head names was deleted, restore refuses the older one it finds, naming
// the check and --force; with --force it restores it with a warning.
func TestRestoreRefusesDeletedNewestSnapshot(t *testing.T) {
	f := newRestoreFixture(t)
	rg := hex.EncodeToString([]byte("rg"))
	f.advance(t, "rg")
	f.upload(t, "rg")
	f.advance(t, "rg")
	f.upload(t, "rg")
	dirs, err := filepath.Glob(filepath.Join(f.dir, "bucket", "team", "groups", rg, "*"))
	if err != nil || len(dirs) != 2 {
		t.Fatalf("epoch directories %v, %v", dirs, err)
	}
	if err := os.RemoveAll(dirs[1]); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(f.data); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := f.run(t, "restore", "--group", rg)
	if code != exitFailure || !strings.Contains(errOut, "head: uploader: head check failed") || !strings.Contains(errOut, "newer manifests were deleted") ||
		!strings.Contains(errOut, "--force") {
		t.Fatalf("restore without the newest snapshot: exit %d\n%s\n%s", code, out, errOut)
	}
	mustRun(t, f, []string{"restore", "--group", rg, "--force"}, exitOK, "WARNING (--force)", "restored  group "+rg+" at epoch 1")
}

func mustRun(t *testing.T, f *restoreFixture, args []string, want int, stdout ...string) {
	t.Helper()
	code, out, errOut := f.run(t, args...)
	if code != want {
		t.Fatalf("%v: exit %d, want %d\n%s\n%s", args, code, want, out, errOut)
	}
	for _, s := range stdout {
		if !strings.Contains(out, s) {
			t.Fatalf("%v: output lacks %q:\n%s", args, s, out)
		}
	}
}

// TestRestoreUsageAndFailures: wrong command lines are usage errors, and a
// wrong identity or a group without snapshots fails with advice.
func TestRestoreUsageAndFailures(t *testing.T) {
	f := newRestoreFixture(t)
	f.advance(t, "rg")
	rg := hex.EncodeToString([]byte("rg"))
	f.upload(t, "rg")
	otherID := filepath.Join(f.dir, "other.txt")
	if code, _, errOut := runCLI(t, "keygen", "--out", otherID); code != exitOK {
		t.Fatal(errOut)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"nothing", []string{"restore"}, exitUsage, "give --group ID or --all"},
		{"both", []string{"restore", "--all", "--group", rg}, exitUsage, "give --group ID or --all"},
		{"two selections", []string{"restore", "--group", rg, "--epoch", "1", "--latest"}, exitUsage, "--latest, --epoch and --before exclude each other"},
		{"bad time", []string{"restore", "--group", rg, "--before", "yesterday"}, exitUsage, "is not an RFC 3339 time"},
		{"bad group", []string{"restore", "--group", "xyz"}, exitUsage, "is not a hex group id"},
		{"bad concurrency", []string{"restore", "--all", "--concurrency", "0"}, exitUsage, "--concurrency"},
		{"wrong identity", []string{"restore", "--group", rg, "--identity", otherID, "--force"}, exitFailure, "--identity FILE"},
		{"no snapshot", []string{"restore", "--group", "abcd"}, exitFailure, "mlsbackup list"},
		{"no such epoch", []string{"restore", "--group", rg, "--epoch", "9"}, exitFailure, "no matching snapshot"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := f.run(t, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("exit %d (want %d), stderr lacks %q:\n%s\n%s", code, tc.code, tc.stderr, out, errOut)
			}
		})
	}
	if e, restored := f.localGroup(t, "rg"); e != 1 || restored {
		t.Fatalf("failed restores changed the group: epoch %d restored %v", e, restored)
	}
}

// TestRestoreThroughAgent: while an agent holds the data directory, restore
// goes through its API, with the same rollback guard.
func TestRestoreThroughAgent(t *testing.T) {
	f := newRestoreFixture(t)
	rg := hex.EncodeToString([]byte("rg"))
	f.advance(t, "rg")
	f.upload(t, "rg")
	f.advance(t, "rg")

	cfg, err := config.Load(f.config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := agent.Open(ctx, cfg, slog.New(slog.DiscardHandler), agent.Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	}()
	var c *agent.Client
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err = agent.Dial(cfg.SocketPath()); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent does not answer: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer c.Close()

	code, out, errOut := f.run(t, "restore", "--group", rg)
	if code != exitFailure || !strings.Contains(out, "through the running agent") || !strings.Contains(errOut, "older than the local group") {
		t.Fatalf("rollback through the agent: exit %d\n%s\n%s", code, out, errOut)
	}
	mustRun(t, f, []string{"restore", "--group", rg, "--force", "--dry-run"}, exitOK, "through the running agent",
		"would restore  group "+rg+" at epoch 1 (now: local epoch 2)")
	mustRun(t, f, []string{"restore", "--group", rg, "--force"}, exitOK, "restored  group "+rg+" at epoch 1 (was: local epoch 2)")
	info, err := c.Info(ctx, []byte("rg"))
	if err != nil || info.Epoch != 1 || !info.Restored {
		t.Fatalf("agent's group after restore: %+v, %v; want epoch 1, restored", info, err)
	}
}

// TestRestoreLockedWithoutAgent: a data directory locked by a process that
// is not an agent is reported with what to do, and nothing is restored.
func TestRestoreLockedWithoutAgent(t *testing.T) {
	f := newRestoreFixture(t)
	f.advance(t, "rg")
	f.upload(t, "rg")
	f.withStore(t, func(context.Context, *localstore.Store) {
		code, out, errOut := f.run(t, "restore", "--all", "--force")
		if code != exitFailure || !strings.Contains(errOut, "is locked by another process, but no agent answers") {
			t.Fatalf("restore into a locked data directory: exit %d\n%s\n%s", code, out, errOut)
		}
	})
}
