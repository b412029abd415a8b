package agent

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
)

// TestTwoAgents runs alice's and bob's agents in one process; the test is
// the delivery service between them.
func TestTwoAgents(t *testing.T) {
	ctx := ctxT(t)
	alice := newTestAgent(t, agentOpts{identity: "alice"})
	bob := newTestAgent(t, agentOpts{identity: "bob"})
	carol := newTestAgent(t, agentOpts{identity: "carol"})

	g, err := alice.c.Create(ctx, CreateRequest{Name: "team"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if got, want := g.GroupID, hex.EncodeToString([]byte("team")); got != want {
		t.Fatalf("group id = %s, want %s", got, want)
	}
	gid := []byte("team")

	kp, err := bob.c.KeyPackage(ctx, KeyPackageRequest{})
	if err != nil {
		t.Fatalf("KeyPackage: %v", err)
	}
	add, err := alice.c.Add(ctx, gid, AddRequest{KeyPackages: [][]byte{kp}})
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	if !add.Merged || add.Epoch != 1 || len(add.Welcome) == 0 {
		t.Fatalf("Add = merged %v epoch %d welcome %d bytes, want merged at epoch 1 with a Welcome", add.Merged, add.Epoch, len(add.Welcome))
	}
	joined, err := bob.c.Receive(ctx, ReceiveRequest{Message: add.Welcome})
	if err != nil {
		t.Fatalf("bob Receive(Welcome): %v", err)
	}
	if joined.Kind != "welcome" || joined.Epoch != 1 || joined.GroupID != g.GroupID {
		t.Fatalf("bob joined %+v, want welcome into %s at epoch 1", joined, g.GroupID)
	}

	// alice → bob application message.
	sent, err := alice.c.Send(ctx, gid, SendRequest{Text: "hello bob"})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	got, err := bob.c.Receive(ctx, ReceiveRequest{Message: sent.Message})
	if err != nil {
		t.Fatalf("bob Receive: %v", err)
	}
	if got.Kind != "application" || string(got.Data) != "hello bob" || got.SenderIdentity != "alice" {
		t.Fatalf("bob got %+v, want application \"hello bob\" from alice", got)
	}

	// bob self-updates without merging, then merges; alice processes it.
	up, err := bob.c.Update(ctx, gid, UpdateRequest{NoMerge: true})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if up.Merged {
		t.Fatalf("Update with no_merge merged")
	}
	info, err := bob.c.Info(ctx, gid)
	if err != nil || !info.PendingCommit || info.Epoch != 1 {
		t.Fatalf("bob Info = %+v, %v; want a pending commit at epoch 1", info, err)
	}
	if info, err = bob.c.Merge(ctx, gid); err != nil || info.Epoch != 2 {
		t.Fatalf("bob Merge = %+v, %v; want epoch 2", info, err)
	}
	rc, err := alice.c.Receive(ctx, ReceiveRequest{Message: up.Commit})
	if err != nil || rc.Kind != "commit" || rc.Epoch != 2 {
		t.Fatalf("alice Receive(commit) = %+v, %v; want commit to epoch 2", rc, err)
	}

	// A pending commit can be cleared.
	if _, err := alice.c.Update(ctx, gid, UpdateRequest{NoMerge: true}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if info, err := alice.c.Clear(ctx, gid); err != nil || info.PendingCommit || info.Epoch != 2 {
		t.Fatalf("Clear = %+v, %v; want no pending commit, epoch 2", info, err)
	}

	// carol joins by external commit from alice's GroupInfo.
	gi, err := alice.c.GroupInfo(ctx, gid, true)
	if err != nil {
		t.Fatalf("GroupInfo: %v", err)
	}
	ext, err := carol.c.JoinExternal(ctx, ExternalJoinRequest{GroupInfo: gi})
	if err != nil {
		t.Fatalf("JoinExternal: %v", err)
	}
	if ext.Group.Epoch != 3 {
		t.Fatalf("carol joined at epoch %d, want 3", ext.Group.Epoch)
	}
	for _, peer := range []*testAgent{alice, bob} {
		if r, err := peer.c.Receive(ctx, ReceiveRequest{Message: ext.Commit}); err != nil || r.Epoch != 3 ||
			r.Commit == nil || len(r.Commit.Added) != 1 || r.Commit.Added[0].Identity != "carol" {
			t.Fatalf("%s Receive(external commit) = %+v, %v", peer.cfg.ClientName, r, err)
		}
	}

	// Everyone agrees on the epoch authenticator and the members.
	want, err := alice.c.Info(ctx, gid)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Members) != 3 {
		t.Fatalf("members = %+v, want 3", want.Members)
	}
	for _, peer := range []*testAgent{bob, carol} {
		got, err := peer.c.Info(ctx, gid)
		if err != nil {
			t.Fatal(err)
		}
		if got.Epoch != want.Epoch || got.EpochAuthenticator != want.EpochAuthenticator {
			t.Errorf("%s: epoch %d auth %s, want %d %s", peer.cfg.ClientName, got.Epoch, got.EpochAuthenticator, want.Epoch, want.EpochAuthenticator)
		}
	}

	// alice removes bob (by identity); bob learns he is out.
	rm, err := alice.c.Remove(ctx, gid, RemoveRequest{Members: []string{"bob"}})
	if err != nil {
		t.Fatalf("Remove: %v", err)
	}
	r, err := bob.c.Receive(ctx, ReceiveRequest{Message: rm.Commit})
	if err != nil || r.Commit == nil || !r.Commit.SelfRemoved {
		t.Fatalf("bob Receive(removal) = %+v, %v; want self_removed", r, err)
	}
	if r, err := carol.c.Receive(ctx, ReceiveRequest{Message: rm.Commit}); err != nil || len(r.Commit.Removed) != 1 || r.Commit.Removed[0].Identity != "bob" {
		t.Fatalf("carol Receive(removal) = %+v, %v; want bob removed", r, err)
	}
	msg, err := carol.c.Send(ctx, gid, SendRequest{Data: []byte("bye")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.c.Receive(ctx, ReceiveRequest{Message: msg.Message}); err == nil {
		t.Fatalf("bob decrypted a message after his removal")
	}
	if got, err := alice.c.Receive(ctx, ReceiveRequest{Message: msg.Message}); err != nil || string(got.Data) != "bye" {
		t.Fatalf("alice Receive = %+v, %v", got, err)
	}

	// The group list.
	list, err := alice.c.List(ctx)
	if err != nil || len(list.Groups) != 1 || list.Groups[0].Members != 2 {
		t.Fatalf("List = %+v, %v; want one group of 2", list, err)
	}
	// Errors map back to sentinels through the client.
	if _, err := alice.c.Info(ctx, []byte("nope")); !errors.Is(err, ErrUnknownGroup) {
		t.Errorf("Info(unknown) = %v, want ErrUnknownGroup", err)
	}
	if _, err := alice.c.Merge(ctx, gid); !errors.Is(err, engine.ErrNoPendingCommit) {
		t.Errorf("Merge without pending = %v, want ErrNoPendingCommit", err)
	}
}
