package e2e

import (
	"encoding/hex"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/agent"
	"github.com/mlsbackup/mlsbackup/internal/testenv"
)

// TestTwoAgentsLostDisk is the first acceptance scenario: alice's and
// bob's agents (real processes) exchange KeyPackage, Welcome, commits and
// messages through the CLI, the test playing the delivery service; bob's data
// directory is deleted; restore brings bob back; bob processes the commits he
// missed, decrypts alice's next message and sends from a fresh epoch.
func TestTwoAgentsLostDisk(t *testing.T) {
	srv := testenv.MinIO(t)
	alice, bob := newNode(t, srv, "alice", 2), newNode(t, srv, "bob", 2)
	pa, pb := alice.startAgent(), bob.startAgent()
	gid := hex.EncodeToString([]byte("e2e-team"))

	var kp agent.KeyPackageResponse
	bob.group(&kp, "keypackage")
	alice.group(nil, "create", gid)
	var add agent.CommitResponse
	alice.group(&add, "add", gid, "--key-package", b64(kp.KeyPackage))
	var joined agent.GroupInfo
	bob.group(&joined, "join", "--welcome", b64(add.Welcome))
	if joined.Epoch != add.Epoch {
		t.Fatalf("bob joined at epoch %d, alice is at %d", joined.Epoch, add.Epoch)
	}
	// alice and bob take turns: self-updates and messages, up to epoch 4
	// (snapshots at 2 and 4 with every_epochs 2).
	say := func(from, to *node, text string) {
		t.Helper()
		var sent agent.SendResponse
		from.group(&sent, "send", gid, "--data", text)
		var got agent.ReceiveResponse
		to.group(&got, "receive", "--message", b64(sent.Message))
		if got.Kind != "application" || string(got.Data) != text {
			t.Fatalf("%s got %s %q from %s, want %q", to.name, got.Kind, got.Data, from.name, text)
		}
	}
	commit := func(from, to *node) agent.CommitResponse {
		t.Helper()
		var c agent.CommitResponse
		from.group(&c, "update", gid)
		if to != nil {
			var got agent.ReceiveResponse
			to.group(&got, "receive", "--message", b64(c.Commit))
			if got.Kind != "commit" || got.Epoch != c.Epoch {
				t.Fatalf("%s processed %s at epoch %d, want a commit to %d", to.name, got.Kind, got.Epoch, c.Epoch)
			}
		}
		return c
	}
	say(alice, bob, "hello bob")
	commit(bob, alice)
	say(bob, alice, "hello alice")
	commit(alice, bob)
	commit(bob, alice)
	waitSnapshot(t, bob, gid, 4)

	// bob keeps going after his last backup, then loses his disk.
	missed := []agent.CommitResponse{commit(alice, bob)}
	if err := pb.stop(); err != nil {
		t.Fatalf("bob's agent on SIGTERM: %v", err)
	}
	bob.wipe()
	missed = append(missed, commit(alice, nil), commit(alice, nil))

	out := bob.mustRun("restore", "--group", gid)
	if !contains(out, "1 restored") {
		t.Fatalf("restore:\n%s", out)
	}
	pb = bob.startAgent()
	var info agent.GroupInfo
	bob.group(&info, "info", gid)
	if info.Epoch != 4 || !info.Restored {
		t.Fatalf("bob after restore: epoch %d restored %v, want 4 true", info.Epoch, info.Restored)
	}
	if _, errOut, err := bob.run("group", "send", gid, "--data", "too early", "--json"); err == nil {
		t.Fatalf("bob could send in the restored epoch")
	} else if !contains(errOut, "restored") {
		t.Fatalf("send in the restored epoch failed without saying why: %s", errOut)
	}
	for _, c := range missed {
		var got agent.ReceiveResponse
		bob.group(&got, "receive", "--message", b64(c.Commit))
		if got.Epoch != c.Epoch {
			t.Fatalf("bob caught up to epoch %d, want %d", got.Epoch, c.Epoch)
		}
	}
	waitSnapshot(t, bob, gid, 6) // bob's backups resume as he catches up
	var ai agent.GroupInfo
	alice.group(&ai, "info", gid)
	bob.group(&info, "info", gid)
	if info.Epoch != ai.Epoch || info.EpochAuthenticator != ai.EpochAuthenticator || !info.Restored {
		t.Fatalf("bob %d/%s/restored=%v, alice %d/%s; want the same epoch, still restored", info.Epoch, info.EpochAuthenticator, info.Restored, ai.Epoch, ai.EpochAuthenticator)
	}
	say(alice, bob, "welcome back")
	// Caught up, bob still may not send: his lost state may have reached
	// these epochs. His own self-update lets him.
	if _, errOut, err := bob.run("group", "send", gid, "--data", "too early", "--json"); err == nil || !contains(errOut, "commit a self-update") {
		t.Fatalf("bob could send after catching up, or was not told to commit: %v %s", err, errOut)
	}
	up := commit(bob, alice)
	bob.group(&info, "info", gid)
	if info.Restored || info.Epoch != up.Epoch {
		t.Fatalf("bob after his own commit: epoch %d restored %v, want %d false", info.Epoch, info.Restored, up.Epoch)
	}
	var sent agent.SendResponse
	bob.group(&sent, "send", gid, "--data", "thanks")
	if sent.Epoch != up.Epoch || sent.Epoch == 4 {
		t.Fatalf("bob sent from epoch %d, want his fresh epoch %d", sent.Epoch, up.Epoch)
	}
	var got agent.ReceiveResponse
	alice.group(&got, "receive", "--message", b64(sent.Message))
	if string(got.Data) != "thanks" {
		t.Fatalf("alice got %q", got.Data)
	}
	for _, p := range []*proc{pa, pb} {
		if err := p.stop(); err != nil {
			t.Fatalf("agent on SIGTERM: %v", err)
		}
	}
}
