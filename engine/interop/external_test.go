package interop

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/suite"
)

// TestTSMLSExternalJoin joins by external commit across implementations, for
// every cipher suite (suite 1 only with -short):
//
//	epoch 1  alice (ts-mls) creates the group and adds bob (engine)
//	epoch 2  dave (engine) joins by external commit from alice's GroupInfo
//	epoch 3  carol (ts-mls) joins by external commit from bob's GroupInfo
//	epoch 4  bob, having lost his state, re-joins from carol's GroupInfo
//	         with a fresh client, removing his old leaf in the same commit;
//	         the old bob learns he was removed
//
// All members must agree on epoch, authenticator, exporter and members after
// each step, and exchange application messages.
func TestTSMLSExternalJoin(t *testing.T) {
	t.Parallel()
	for _, id := range suites() {
		t.Run(fmt.Sprintf("suite=%d", uint16(id)), func(t *testing.T) {
			t.Parallel()
			runExternalJoin(t, id)
		})
	}
}

func runExternalJoin(t *testing.T, id suite.ID) {
	p := startPeer(t)
	alice := newTSMember(t, p, "alice", id, false)
	carol := newTSMember(t, p, "carol", id, false)
	bob := newGoMember("bob", id, false, nil)
	dave := newGoMember("dave", id, false, nil)

	groupID := make([]byte, 16)
	if _, err := rand.Read(groupID); err != nil {
		t.Fatal(err)
	}
	alice.createGroup(t, groupID)
	_, welcome := alice.commit(t, tsCommit{add: [][]byte{bob.KeyPackage(t)}})
	bob.Join(t, welcome)
	agree(t, "bob joined", 1, map[uint32]string{0: "alice", 1: "bob"}, alice, bob)

	// Epoch 2: the engine joins from a ts-mls GroupInfo.
	commit := dave.externalJoin(t, alice.groupInfo(t), nil)
	deliver(t, commit, "commit", alice, bob)
	three := map[uint32]string{0: "alice", 1: "bob", 2: "dave"}
	agree(t, "dave joined externally", 2, three, alice, bob, dave)
	exchange(t, "epoch 2", alice, bob, dave)

	// Epoch 3: ts-mls joins from an engine GroupInfo.
	commit = carol.externalJoin(t, bob.groupInfo(t))
	got := deliver(t, commit, "commit", alice, bob, dave)
	// The engine reports an external joiner as the committer (not in
	// CommitInfo.Added); the member list is checked by agree.
	if c := got[1].Commit; c.Committer != 3 || len(c.Removed) != 0 {
		t.Errorf("bob's view of carol's external commit: %+v, want committer 3, nothing removed", c)
	}
	four := map[uint32]string{0: "alice", 1: "bob", 2: "dave", 3: "carol"}
	agree(t, "carol joined externally", 3, four, alice, bob, carol, dave)
	exchange(t, "epoch 3", alice, bob, carol, dave)

	// Epoch 4: bob re-joins with a fresh client and removes his old leaf.
	oldBob := bob
	bob = newGoMember("bob", id, false, nil)
	resync := oldBob.group.OwnIndex()
	commit = bob.externalJoin(t, carol.groupInfo(t), &resync)
	got = deliver(t, commit, "commit", alice, carol, dave, oldBob)
	if r := got[3].Commit; !r.SelfRemoved {
		t.Errorf("old bob's view of the resync commit: %+v, want SelfRemoved", r)
	}
	if r := got[2].Commit; len(r.Removed) != 1 || !bytes.Equal(r.Removed[0].Identity, []byte("bob")) || r.Committer != bob.group.OwnIndex() {
		t.Errorf("dave's view of the resync commit: %+v; want old bob removed, committed by new bob at leaf %d", r, bob.group.OwnIndex())
	}
	agree(t, "bob re-joined", 4, four, alice, bob, carol, dave)
	exchange(t, "epoch 4", alice, bob, carol, dave)
}
