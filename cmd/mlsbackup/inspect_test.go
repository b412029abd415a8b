package main

import (
	"encoding/base64"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/agent"
)

// TestSnapshotInspectAndExporter runs the snapshot's inspection and the
// exporter through the CLI: `group inspect` on the agent's group,
// `snapshot inspect --group` from the destination and `snapshot inspect
// FILE` on a fetched snapshot agree and say the restored mark (that no
// secret is shown is engine.TestInspectSnapshot's); `group exporter` equals on both members.
func TestSnapshotInspectAndExporter(t *testing.T) {
	dir := t.TempDir()
	identity := filepath.Join(dir, "id.txt")
	keys := keygen(t, identity)
	alice := startAgent(t, dir, "alice", keys)
	bob := startAgent(t, dir, "bob", keys)
	group := hex.EncodeToString([]byte("inspect"))
	var kp agent.KeyPackageResponse
	bob.cli(t, &kp, "group", "keypackage")
	var info agent.GroupInfo
	alice.cli(t, &info, "group", "create", group)
	var add agent.CommitResponse
	alice.cli(t, &add, "group", "add", group, "--key-package", b64(kp.KeyPackage))
	bob.cli(t, &info, "group", "join", "--welcome", b64(add.Welcome))

	var live agent.InspectReport
	alice.cli(t, &live, "group", "inspect", group)
	if live.Epoch != 1 || len(live.Members) != 2 || live.Members[1].Identity != "bob" || live.Restored {
		t.Fatalf("group inspect: %+v", live)
	}
	var snaps []agent.SnapshotResponse
	alice.cli(t, &snaps, "snapshot", "--group", group)
	var remote agent.InspectReport
	alice.cli(t, &remote, "snapshot", "inspect", "--group", group, "--identity", identity)
	if remote.Epoch != live.Epoch || remote.EpochAuthenticator != live.EpochAuthenticator || remote.TreeHash != live.TreeHash {
		t.Fatalf("snapshot inspect --group: %+v, the live group %+v", remote, live)
	}
	file := filepath.Join(dir, "alice.snapshot")
	if code, _, stderr := runCLI(t, "--config", alice.config, "fetch", "--group", group, "--identity", identity, "--out", file); code != exitOK {
		t.Fatalf("fetch: %s", stderr)
	}
	code, stdout, stderr := runCLI(t, "snapshot", "inspect", file)
	if code != exitOK || !strings.Contains(stdout, "epoch: 1") || !strings.Contains(stdout, "1  bob  key sha256 ") || !strings.Contains(stdout, "restored: false") {
		t.Fatalf("snapshot inspect FILE: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, _, stderr := runCLI(t, "snapshot", "inspect"); code != exitUsage || !strings.Contains(stderr, "FILE or --group ID") {
		t.Fatalf("snapshot inspect without a snapshot: exit %d %s", code, stderr)
	}

	var ea, eb agent.ExporterResponse
	alice.cli(t, &ea, "group", "exporter", group, "--label", "media", "--context-text", "call-7", "--length", "32")
	bob.cli(t, &eb, "group", "exporter", group, "--label", "media", "--context", base64.StdEncoding.EncodeToString([]byte("call-7")), "--length", "32")
	if len(ea.Secret) != 32 || string(ea.Secret) != string(eb.Secret) || ea.Epoch != eb.Epoch {
		t.Fatalf("exporter: alice %x@%d, bob %x@%d", ea.Secret, ea.Epoch, eb.Secret, eb.Epoch)
	}
}
