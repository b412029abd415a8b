package main

import (
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/agent"
)

// TestGroupWelcomeWithoutRatchetTree is failure 3 of issue 14: neither the
// API nor the CLI could create a Welcome or a GroupInfo without the
// ratchet_tree extension, nor join with the tree supplied separately (RFC
// 9420 §12.4.3.3). "group add --no-ratchet-tree" prints the tree beside
// the Welcome; joining from that Welcome fails without it and succeeds
// with "join --ratchet-tree"; the same for a GroupInfo and an external
// join.
func TestGroupWelcomeWithoutRatchetTree(t *testing.T) {
	dir := t.TempDir()
	recipient := keygen(t, filepath.Join(dir, "id.txt"))
	alice := startAgent(t, dir, "alice", recipient)
	bob := startAgent(t, dir, "bob", recipient)
	carol := startAgent(t, dir, "carol", recipient)
	group := hex.EncodeToString([]byte("no-tree"))
	var info agent.GroupInfo
	alice.cli(t, &info, "group", "create", group)

	var kp agent.KeyPackageResponse
	bob.cli(t, &kp, "group", "keypackage")
	var add struct {
		agent.CommitResponse
		RatchetTree []byte `json:"ratchet_tree"`
	}
	alice.cli(t, &add, "group", "add", group, "--key-package", b64(kp.KeyPackage), "--no-ratchet-tree")
	if len(add.Welcome) == 0 || len(add.RatchetTree) == 0 {
		t.Fatalf("add --no-ratchet-tree = %+v, want a Welcome and the tree beside it", add)
	}
	code, _, stderr := runCLI(t, "--config", bob.config, "group", "join", "--welcome", b64(add.Welcome))
	if code != exitFailure || !strings.Contains(stderr, "invalid_welcome") {
		t.Fatalf("join without the tree: exit %d, want invalid_welcome: %s", code, stderr)
	}
	var joined agent.GroupInfo
	bob.cli(t, &joined, "group", "join", "--welcome", b64(add.Welcome), "--ratchet-tree", b64(add.RatchetTree))
	if joined.Epoch != 1 || len(joined.Members) != 2 {
		t.Fatalf("join with the tree = %+v, want epoch 1 with two members", joined)
	}

	var gi struct {
		agent.GroupInfoResponse
		RatchetTree []byte `json:"ratchet_tree"`
	}
	bob.cli(t, &gi, "group", "group-info", group, "--no-ratchet-tree")
	if len(gi.GroupInfo) == 0 || len(gi.RatchetTree) == 0 {
		t.Fatalf("group-info --no-ratchet-tree = %+v, want a GroupInfo and the tree beside it", gi)
	}
	code, _, stderr = runCLI(t, "--config", carol.config, "group", "join", "--group-info", b64(gi.GroupInfo))
	if code != exitFailure || !strings.Contains(stderr, "invalid_welcome") {
		t.Fatalf("external join without the tree: exit %d, want invalid_welcome: %s", code, stderr)
	}
	var ext agent.ExternalJoinResponse
	carol.cli(t, &ext, "group", "join", "--group-info", b64(gi.GroupInfo), "--ratchet-tree", b64(gi.RatchetTree))
	var got agent.ReceiveResponse
	alice.cli(t, &got, "group", "receive", "--message", b64(ext.Commit))
	bob.cli(t, &got, "group", "receive", "--message", b64(ext.Commit))
	alice.cli(t, &info, "group", "info", group)
	if len(info.Members) != 3 || info.EpochAuthenticator != ext.Group.EpochAuthenticator {
		t.Fatalf("alice after carol's external join: %+v; carol: %+v", info, ext.Group)
	}
}
