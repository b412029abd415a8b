package agent

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
)

// TestAgentRatchetTreeOutOfBand: an add with no_ratchet_tree answers the
// tree beside a Welcome that leaves it out (the same answer on a retry
// with the same idempotency key); receiving the Welcome needs the tree;
// a GroupInfo without the tree comes with it, and an external join uses
// it.
func TestAgentRatchetTreeOutOfBand(t *testing.T) {
	ctx := ctxT(t)
	alice := newTestAgent(t, agentOpts{identity: "alice"})
	bob := newTestAgent(t, agentOpts{identity: "bob"})
	carol := newTestAgent(t, agentOpts{identity: "carol"})
	gid := []byte("oob")
	if _, err := alice.c.Create(ctx, CreateRequest{Name: string(gid)}); err != nil {
		t.Fatal(err)
	}
	kp, err := bob.c.KeyPackage(ctx, KeyPackageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	req := AddRequest{KeyPackages: [][]byte{kp}, NoRatchetTree: true, IdempotencyKey: "add-bob"}
	add, err := alice.c.Add(ctx, gid, req)
	if err != nil || len(add.RatchetTree) == 0 {
		t.Fatalf("add without the tree: %+v, %v; want the tree beside the Welcome", add, err)
	}
	again, err := alice.c.Add(ctx, gid, req)
	if err != nil || !bytes.Equal(again.RatchetTree, add.RatchetTree) || !bytes.Equal(again.Welcome, add.Welcome) {
		t.Fatalf("retried add: %v; want the stored answer with the same tree", err)
	}
	if _, err := bob.c.Receive(ctx, ReceiveRequest{Message: add.Welcome}); !errors.Is(err, engine.ErrInvalidWelcome) {
		t.Fatalf("Welcome without its tree: got %v, want invalid_welcome", err)
	}
	if _, err := bob.c.Receive(ctx, ReceiveRequest{Message: add.Welcome, RatchetTree: add.RatchetTree}); err != nil {
		t.Fatalf("Welcome with the tree out of band: %v", err)
	}
	gi, err := bob.c.GroupInfoAndTree(ctx, gid, false)
	if err != nil || len(gi.RatchetTree) == 0 {
		t.Fatalf("group info without the tree: %+v, %v", gi, err)
	}
	ext, err := carol.c.JoinExternal(ctx, ExternalJoinRequest{GroupInfo: gi.GroupInfo, RatchetTree: gi.RatchetTree})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*testAgent{alice, bob} {
		if _, err := m.c.Receive(ctx, ReceiveRequest{Message: ext.Commit}); err != nil {
			t.Fatal(err)
		}
	}
	info, err := alice.c.Info(ctx, gid)
	if err != nil || info.EpochAuthenticator != ext.Group.EpochAuthenticator || len(info.Members) != 3 {
		t.Fatalf("alice %+v (%v), carol %+v", info, err, ext.Group)
	}
	if full, err := alice.c.GroupInfoAndTree(ctx, gid, true); err != nil || full.RatchetTree != nil {
		t.Fatalf("group info with the tree: %v, tree beside it %d bytes", err, len(full.RatchetTree))
	}
}
