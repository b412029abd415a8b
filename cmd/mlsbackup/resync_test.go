package main

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/agent"
)

// TestRestoredOwnCommitRejoinWithResyncLeaf runs the runbook's re-join
// with the CLI: bob's snapshot at epoch 1, bob commits a self-update and
// loses his disk; restore prints the re-join hint; catching up fails on
// his own pre-loss commit with an error that says to re-join, and send is
// refused; "group join --group-info --resync-leaf N" replaces his old leaf
// and he can send again. --resync-leaf without --group-info is a usage
// error.
func TestRestoredOwnCommitRejoinWithResyncLeaf(t *testing.T) {
	dir := t.TempDir()
	identity := filepath.Join(dir, "id.txt")
	keys := keygen(t, identity)
	alice := startAgent(t, dir, "alice", keys)
	bob := startAgent(t, dir, "bob", keys)
	group := hex.EncodeToString([]byte("resync"))

	var kp agent.KeyPackageResponse
	bob.cli(t, &kp, "group", "keypackage")
	var info agent.GroupInfo
	alice.cli(t, &info, "group", "create", group)
	var add agent.CommitResponse
	alice.cli(t, &add, "group", "add", group, "--key-package", b64(kp.KeyPackage))
	var old agent.GroupInfo
	bob.cli(t, &old, "group", "join", "--welcome", b64(add.Welcome))
	var snaps []agent.SnapshotResponse
	bob.cli(t, &snaps, "snapshot", "--group", group)
	if len(snaps) != 1 || snaps[0].Epoch != 1 {
		t.Fatalf("bob's snapshot = %+v, want epoch 1", snaps)
	}
	var own agent.CommitResponse
	bob.cli(t, &own, "group", "update", group)
	var got agent.ReceiveResponse
	alice.cli(t, &got, "group", "receive", "--message", b64(own.Commit))

	bob.shutdown(t)
	if err := os.RemoveAll(filepath.Join(dir, "bob")); err != nil {
		t.Fatal(err)
	}
	bob = startAgent(t, dir, "bob", keys)
	code, stdout, stderr := runCLI(t, "--config", bob.config, "restore", "--group", group, "--epoch", "1", "--identity", identity)
	if code != exitOK || !strings.Contains(stdout, "group join --group-info B64 --resync-leaf N") || !strings.Contains(stdout, "group update ID") {
		t.Fatalf("restore: exit %d, want the hint to commit or re-join with --resync-leaf\n%s\n%s", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, "--config", bob.config, "group", "receive", "--message", b64(own.Commit))
	if code != exitFailure || !strings.Contains(stderr, "re-join") || !strings.Contains(stderr, fmt.Sprintf("leaf %d when the snapshot was taken", old.OwnIndex)) {
		t.Fatalf("bob processes his own pre-loss commit: exit %d, want a failure saying to re-join with resync leaf %d: %s", code, old.OwnIndex, stderr)
	}
	code, _, stderr = runCLI(t, "--config", bob.config, "group", "send", group, "--data", "too early")
	if code != exitFailure || !strings.Contains(stderr, "restored_epoch") || !strings.Contains(stderr, "re-join") {
		t.Fatalf("bob sends before re-joining: exit %d, want restored_epoch saying to re-join: %s", code, stderr)
	}

	code, stdout, _ = runCLI(t, "group", "join", "--help")
	if code != exitOK || !strings.Contains(stdout, "--resync-leaf N") {
		t.Errorf("group join --help: exit %d, want --resync-leaf N described:\n%s", code, stdout)
	}
	for _, args := range [][]string{
		{"group", "join", "--resync-leaf", "1"},
		{"group", "join", "--welcome", b64(add.Welcome), "--resync-leaf", "1"},
	} {
		code, _, stderr = runCLI(t, append([]string{"--config", bob.config}, args...)...)
		if code != exitUsage || !strings.Contains(stderr, "--resync-leaf needs --group-info") {
			t.Errorf("%v: exit %d, stderr %q; want the usage error \"--resync-leaf needs --group-info\"", args, code, stderr)
		}
	}

	var gi agent.GroupInfoResponse
	alice.cli(t, &gi, "group", "group-info", group)
	var ext agent.ExternalJoinResponse
	bob.cli(t, &ext, "group", "join", "--group-info", b64(gi.GroupInfo), "--resync-leaf", fmt.Sprint(old.OwnIndex))
	if ext.Group.Epoch != 3 || ext.Group.Restored {
		t.Fatalf("bob re-joins = %+v, want epoch 3, not restored", ext.Group)
	}
	alice.cli(t, &got, "group", "receive", "--message", b64(ext.Commit))
	if got.Commit == nil || len(got.Commit.Removed) != 1 || got.Commit.Removed[0].Index != old.OwnIndex ||
		len(got.Commit.Added) != 1 || got.Commit.Added[0].Identity != "bob" {
		t.Fatalf("alice receives the re-join: %+v, want bob's leaf %d replaced", got.Commit, old.OwnIndex)
	}
	alice.cli(t, &info, "group", "info", group)
	if len(info.Members) != 2 || info.EpochAuthenticator != ext.Group.EpochAuthenticator {
		t.Fatalf("alice after the re-join: %+v; bob: %+v", info, ext.Group)
	}
	var sent agent.SendResponse
	bob.cli(t, &sent, "group", "send", group, "--data", "back")
	alice.cli(t, &got, "group", "receive", "--message", b64(sent.Message))
	if got.Kind != "application" || string(got.Data) != "back" || got.Epoch != 3 {
		t.Fatalf("alice receives bob's message: %+v, want \"back\" at epoch 3", got)
	}
}
