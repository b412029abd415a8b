package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/agent"
)

// testAgent is an agent run in-process through the CLI, with its config.
type testAgent struct {
	config string
	done   chan int
	stop   context.CancelFunc
	stderr *bytes.Buffer
}

// startAgent runs "mlsbackup agent" for identity in dir/<identity> with a
// directory bucket shared under dir/bucket, and waits until it answers.
func startAgent(t *testing.T, dir, identity string, keys genKeys) *testAgent {
	t.Helper()
	return startAgentWith(t, dir, identity, keys, "")
}

// startAgentWith is startAgent with extra YAML appended to the
// configuration.
func startAgentWith(t *testing.T, dir, identity string, keys genKeys, extra string) *testAgent {
	t.Helper()
	return startAgentArgs(t, dir, identity, keys, extra)
}

// startAgentArgs is startAgentWith with flags for the agent command.
func startAgentArgs(t *testing.T, dir, identity string, keys genKeys, extra string, flags ...string) *testAgent {
	t.Helper()
	cfg := filepath.Join(dir, identity+".yaml")
	doc := fmt.Sprintf(`data_dir: %s
client_name: %s
destination:
  type: dir
  prefix: %s
  dir: {path: %s}
%ssnapshot: {every_epochs: 100, jitter: 0s}
`, filepath.Join(dir, identity), identity, identity, filepath.Join(dir, "bucket"), keys.agentYAML()) + extra
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ta := &testAgent{config: cfg, done: make(chan int, 1), stop: cancel, stderr: &bytes.Buffer{}}
	go func() {
		ta.done <- run(ctx, append([]string{"mlsbackup", "--config", cfg, "--log-level", "warn", "agent"}, flags...),
			streams{in: strings.NewReader(""), out: &bytes.Buffer{}, err: ta.stderr})
	}()
	t.Cleanup(func() { ta.shutdown(t) })
	socket := filepath.Join(dir, identity, "agent.sock")
	deadline := time.Now().Add(20 * time.Second)
	for {
		cl, err := agent.Dial(socket)
		if err == nil {
			cl.Close()
			return ta
		}
		select {
		case code := <-ta.done:
			t.Fatalf("agent %s exited with %d: %s", identity, code, ta.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent %s did not answer on %s: %v", identity, socket, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// shutdown cancels the agent (as SIGTERM does) and checks it exits 0.
func (ta *testAgent) shutdown(t *testing.T) {
	if ta.stop == nil {
		return
	}
	ta.stop()
	ta.stop = nil
	select {
	case code := <-ta.done:
		if code != exitOK {
			t.Errorf("agent exited with %d after shutdown: %s", code, ta.stderr)
		}
	case <-time.After(60 * time.Second):
		t.Errorf("agent did not stop within 60s")
	}
}

// cli runs a command against the agent and decodes its --json output.
func (ta *testAgent) cli(t *testing.T, out any, args ...string) {
	t.Helper()
	code, stdout, stderr := runCLI(t, append(append([]string{"--config", ta.config}, args...), "--json")...)
	if code != exitOK {
		t.Fatalf("%v: exit %d: %s", args, code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), out); err != nil {
		t.Fatalf("%v: %v: %s", args, err, stdout)
	}
}

// TestAgentAndGroupCommands runs two agents and plays the delivery service
// between them with the CLI: key package, create, add, join, send,
// receive, info, snapshot; then list sees the snapshots and the agents
// stop cleanly.
func TestAgentAndGroupCommands(t *testing.T) {
	dir := t.TempDir()
	keys := keygen(t, filepath.Join(dir, "id.txt"))
	alice := startAgent(t, dir, "alice", keys)
	bob := startAgent(t, dir, "bob", keys)

	var kp agent.KeyPackageResponse
	bob.cli(t, &kp, "group", "keypackage")
	group := hex.EncodeToString([]byte("team"))
	var created agent.GroupInfo
	alice.cli(t, &created, "group", "create", group)
	if created.GroupID != group || created.Epoch != 0 {
		t.Fatalf("create = %+v, want group %s at epoch 0", created, group)
	}
	var added agent.CommitResponse
	alice.cli(t, &added, "group", "add", group, "--key-package", b64(kp.KeyPackage))
	if !added.Merged || added.Epoch != 1 || len(added.Welcome) == 0 {
		t.Fatalf("add = %+v, want a merged commit to epoch 1 with a Welcome", added)
	}
	var joined agent.GroupInfo
	bob.cli(t, &joined, "group", "join", "--welcome", b64(added.Welcome))
	var aliceInfo agent.GroupInfo
	alice.cli(t, &aliceInfo, "group", "info", group)
	if joined.Epoch != 1 || joined.EpochAuthenticator != aliceInfo.EpochAuthenticator || len(aliceInfo.Members) != 2 {
		t.Fatalf("bob joined %+v, alice has %+v: want both at epoch 1 with one epoch authenticator", joined, aliceInfo)
	}

	var sent agent.SendResponse
	alice.cli(t, &sent, "group", "send", group, "--data", "hello bob")
	var got agent.ReceiveResponse
	bob.cli(t, &got, "group", "receive", "--message", b64(sent.Message))
	if got.Kind != "application" || string(got.Data) != "hello bob" || got.SenderIdentity != "alice" {
		t.Errorf("bob received %+v, want alice's application message", got)
	}

	var upd agent.CommitResponse
	bob.cli(t, &upd, "group", "update", group, "--no-merge")
	if upd.Merged {
		t.Errorf("update --no-merge merged the commit")
	}
	var merged agent.GroupInfo
	bob.cli(t, &merged, "group", "merge", group)
	alice.cli(t, &got, "group", "receive", "--message", b64(upd.Commit))
	if got.Kind != "commit" || merged.Epoch != 2 || got.Epoch != 2 {
		t.Errorf("after bob's update: bob at %d, alice got %+v; want both at epoch 2", merged.Epoch, got)
	}

	var snaps []agent.SnapshotResponse
	alice.cli(t, &snaps, "snapshot", "--all")
	if len(snaps) != 1 || snaps[0].Epoch != 2 {
		t.Errorf("snapshot --all = %+v, want one snapshot at epoch 2", snaps)
	}
	var list agent.GroupList
	bob.cli(t, &list, "group", "list")
	if len(list.Groups) != 1 || list.Groups[0].GroupID != group {
		t.Errorf("bob's groups = %+v", list)
	}

	code, stdout, stderr := runCLI(t, "--config", alice.config, "list")
	if code != exitOK || !strings.Contains(stdout, "1 snapshots in") {
		t.Errorf("list after snapshot: exit %d\n%s\n%s", code, stdout, stderr)
	}

	// Bad input at the CLI: usage errors before the agent is asked.
	for _, tt := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"group", "receive", "--message", "%%%"}, "--message: not base64"},
		{[]string{"group", "info", "xyz"}, `"xyz" is not a hex group id`},
		{[]string{"group", "send", group}, "--data is required"},
		{[]string{"snapshot"}, "give --group ID or --all"},
	} {
		code, _, stderr := runCLI(t, append([]string{"--config", alice.config}, tt.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tt.stderr) {
			t.Errorf("%v: exit %d, stderr %q; want usage error %q", tt.args, code, stderr, tt.stderr)
		}
	}
	// The agent's refusals are failures naming the cause.
	code, _, stderr = runCLI(t, "--config", alice.config, "group", "info", "abcdef")
	if code != exitFailure || !strings.Contains(stderr, "unknown group") {
		t.Errorf("info of an unknown group: exit %d, %s", code, stderr)
	}

	alice.shutdown(t)
	code, _, stderr = runCLI(t, "--config", alice.config, "group", "list")
	if code != exitFailure || !strings.Contains(stderr, "is 'mlsbackup agent' running") {
		t.Errorf("group list without an agent: exit %d, %s", code, stderr)
	}

	// alice loses her disk; restore brings her back from the bucket.
	if err := os.RemoveAll(filepath.Join(dir, "alice")); err != nil {
		t.Fatal(err)
	}
	identity := filepath.Join(dir, "id.txt")
	var dry []restoreView
	alice.cli(t, &dry, "restore", "--all", "--dry-run", "--identity", identity)
	if len(dry) != 1 || dry[0].Status != "would-restore" || dry[0].Epoch != 2 {
		t.Fatalf("restore --dry-run = %+v, want would-restore at epoch 2", dry)
	}
	var restored []restoreView
	alice.cli(t, &restored, "restore", "--group", group, "--latest", "--identity", identity)
	if len(restored) != 1 || restored[0].Status != "restored" || !restored[0].AuthenticatorChecked {
		t.Fatalf("restore = %+v, want restored with the epoch authenticator checked", restored)
	}
	alice = startAgent(t, dir, "alice", keys)
	var again []restoreView
	alice.cli(t, &again, "restore", "--all", "--identity", identity)
	if len(again) != 1 || again[0].Status != "up-to-date" {
		t.Errorf("restore through the running agent = %+v, want up-to-date", again)
	}
	alice.cli(t, &aliceInfo, "group", "info", group)
	if aliceInfo.Epoch != 2 || !aliceInfo.Restored {
		t.Fatalf("alice after restore = %+v, want epoch 2, restored", aliceInfo)
	}
	code, _, stderr = runCLI(t, "--config", alice.config, "group", "send", group, "--data", "too early")
	if code != exitFailure {
		t.Errorf("send in the restored epoch: exit %d, want 1 (%s)", code, stderr)
	}
	// She moves to a fresh epoch with a self-update; bob follows; then she sends.
	alice.cli(t, &upd, "group", "update", group)
	bob.cli(t, &got, "group", "receive", "--message", b64(upd.Commit))
	alice.cli(t, &sent, "group", "send", group, "--data", "back again")
	bob.cli(t, &got, "group", "receive", "--message", b64(sent.Message))
	if got.Kind != "application" || string(got.Data) != "back again" || got.Epoch != 3 {
		t.Errorf("bob received %+v, want alice's message from epoch 3", got)
	}
}

// TestGroupExternalJoinAndRemove: carol joins by external commit from a
// GroupInfo passed as @FILE; alice removes her by identity, after a
// snapshot (snapshot.before_remove); carol learns she is out.
func TestGroupExternalJoinAndRemove(t *testing.T) {
	dir := t.TempDir()
	keys := keygen(t, filepath.Join(dir, "id.txt"))
	alice := startAgent(t, dir, "alice", keys)
	carol := startAgent(t, dir, "carol", keys)
	group := hex.EncodeToString([]byte("ext"))
	var info agent.GroupInfo
	alice.cli(t, &info, "group", "create", group)

	var gi agent.GroupInfoResponse
	alice.cli(t, &gi, "group", "group-info", group)
	giFile := filepath.Join(dir, "groupinfo.b64")
	if err := os.WriteFile(giFile, []byte(b64(gi.GroupInfo)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var ext agent.ExternalJoinResponse
	carol.cli(t, &ext, "group", "join", "--group-info", "@"+giFile)
	if ext.Group.Epoch != 1 || len(ext.Commit) == 0 {
		t.Fatalf("external join = %+v, want epoch 1 and a commit", ext)
	}
	var got agent.ReceiveResponse
	alice.cli(t, &got, "group", "receive", "--message", b64(ext.Commit))
	if got.Kind != "commit" || got.Epoch != 1 || got.Commit == nil || len(got.Commit.Added) != 1 || got.Commit.Added[0].Identity != "carol" {
		t.Fatalf("alice received %+v, want carol's external commit", got)
	}

	var rm agent.CommitResponse
	alice.cli(t, &rm, "group", "remove", group, "--member", "carol")
	if !rm.Merged || rm.Epoch != 2 {
		t.Fatalf("remove = %+v, want merged at epoch 2", rm)
	}
	carol.cli(t, &got, "group", "receive", "--message", b64(rm.Commit))
	if got.Commit == nil || !got.Commit.SelfRemoved {
		t.Errorf("carol received %+v, want self_removed", got)
	}
	// The snapshot taken before the removal is in the bucket, at epoch 1.
	code, stdout, stderr := runCLI(t, "--config", alice.config, "list", "--json")
	if code != exitOK || !strings.Contains(stdout, `"epoch": 1`) {
		t.Errorf("list after the removal: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, "--config", alice.config, "group", "remove", group, "--member", "mallory")
	if code != exitFailure || !strings.Contains(stderr, "unknown member") {
		t.Errorf("remove of an unknown member: exit %d, %s", code, stderr)
	}
}
