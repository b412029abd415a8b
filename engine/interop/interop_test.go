package interop

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/engine/suite"
)

// TestTSMLSInterop runs one group between the engine and ts-mls for every
// cipher suite of RFC 9420 (suite 1 only with -short), with handshake
// messages as PublicMessages and as PrivateMessages:
//
//	epoch 1  alice (ts-mls) creates the group and adds bob (engine) from
//	         bob's KeyPackage; bob joins from the ts-mls Welcome
//	         application messages both ways, one pair out of order
//	epoch 2  bob commits an add of carol (ts-mls); alice processes it, carol
//	         joins from the engine's Welcome
//	epoch 3  alice adds dave (engine) and injects an external PSK; bob and
//	         carol process, dave joins (needing the PSK)
//	         bob is reloaded from storage; dave is restored from a snapshot
//	         into fresh storage (and cannot send until the next epoch)
//	epoch 4  alice commits an update (an empty commit with a path), which
//	         the reloaded bob and the restored dave process
//	epoch 5  bob proposes an Update, alice commits it by reference
//	epoch 6  bob commits the removal of carol; carol learns it and cannot
//	         read the next epoch
//	epoch 7  dave commits a self-update with an external PSK
//	epoch 8  alice removes bob; bob learns it
//
// After every epoch change all current members must agree on the epoch,
// the epoch authenticator, an exporter value and the member list, and every
// member's application message must reach every other member.
func TestTSMLSInterop(t *testing.T) {
	t.Parallel()
	for _, id := range suites() {
		for _, mode := range []struct {
			name    string
			private bool
		}{{"public", false}, {"private", true}} {
			t.Run(fmt.Sprintf("suite=%d/handshake=%s", uint16(id), mode.name), func(t *testing.T) {
				// Each subtest has its own peer process; on two cores
				// two at a time halve the run.
				t.Parallel()
				runScenario(t, id, mode.private)
			})
		}
	}
}

func runScenario(t *testing.T, id suite.ID, private bool) {
	p := startPeer(t)
	pskID, pskSecret := []byte("interop psk"), make([]byte, 32)
	if _, err := rand.Read(pskSecret); err != nil {
		t.Fatal(err)
	}
	psks := engine.MapPSKStore{string(pskID): pskSecret}
	alice := newTSMember(t, p, "alice", id, private)
	carol := newTSMember(t, p, "carol", id, private)
	alice.addPSK(t, pskID, pskSecret)
	carol.addPSK(t, pskID, pskSecret)
	bob := newGoMember("bob", id, private, psks)
	dave := newGoMember("dave", id, private, psks)

	groupID := make([]byte, 16)
	if _, err := rand.Read(groupID); err != nil {
		t.Fatal(err)
	}
	alice.createGroup(t, groupID)
	agree(t, "created", 0, map[uint32]string{0: "alice"}, alice)

	// Epoch 1: ts-mls adds the engine's member from its KeyPackage.
	commit, welcome := alice.commit(t, tsCommit{add: [][]byte{bob.KeyPackage(t)}})
	if len(commit) == 0 || len(welcome) == 0 {
		t.Fatalf("ts-mls add gave commit %d bytes, welcome %d bytes", len(commit), len(welcome))
	}
	bob.Join(t, welcome)
	if !bytes.Equal(bob.group.GroupID(), groupID) {
		t.Fatalf("bob joined group %x, want %x", bob.group.GroupID(), groupID)
	}
	agree(t, "bob joined", 1, map[uint32]string{0: "alice", 1: "bob"}, alice, bob)
	exchange(t, "epoch 1", alice, bob)
	outOfOrder(t, alice, bob)
	outOfOrder(t, bob, alice)

	// Epoch 2: the engine commits an add of a ts-mls member.
	commit, welcome = bob.commit(t, engine.CommitOptions{Add: [][]byte{carol.KeyPackage(t)}})
	if len(welcome) == 0 {
		t.Fatal("engine add gave no Welcome")
	}
	deliver(t, commit, "commit", alice)
	carol.Join(t, welcome)
	three := map[uint32]string{0: "alice", 1: "bob", 2: "carol"}
	agree(t, "bob added carol", 2, three, alice, bob, carol)
	exchange(t, "epoch 2", alice, bob, carol)

	// Epoch 3: ts-mls adds a second engine member, with an external PSK.
	commit, welcome = alice.commit(t, tsCommit{add: [][]byte{dave.KeyPackage(t)}, psk: [][]byte{pskID}})
	got := deliver(t, commit, "commit", bob, carol)
	wantAdded(t, got[0], 3, "dave")
	dave.Join(t, welcome)
	four := map[uint32]string{0: "alice", 1: "bob", 2: "carol", 3: "dave"}
	agree(t, "alice added dave", 3, four, alice, bob, carol, dave)
	exchange(t, "epoch 3", alice, bob, carol, dave)

	// A restart and a restore on the engine side, then the group goes on.
	bob.reload(t)
	dave.restore(t)
	agree(t, "bob reloaded, dave restored", 3, four, alice, bob, carol, dave)

	// Epoch 4: ts-mls commits an update (an empty commit, so with a path).
	commit, _ = alice.commit(t, tsCommit{})
	deliver(t, commit, "commit", bob, carol, dave)
	agree(t, "alice updated", 4, four, alice, bob, carol, dave)
	// The restored dave reads, but may not send until his own commit
	// (epoch 7): his lost state may have sent in these epochs.
	if _, err := dave.group.Encrypt(t.Context(), []byte("too early"), nil); !errors.Is(err, engine.ErrRestoredEpoch) {
		t.Fatalf("restored dave encrypts after processing ts-mls's commit: %v, want ErrRestoredEpoch", err)
	}
	exchangeFrom(t, "epoch 4", []member{alice, bob, carol}, alice, bob, carol, dave)

	// Epoch 5: the engine proposes an Update, ts-mls commits it by reference.
	proposal, err := bob.group.ProposeUpdate(t.Context())
	if err != nil {
		t.Fatalf("bob: propose update: %v", err)
	}
	deliver(t, proposal, "proposal", alice, carol, dave)
	keyBefore := bob.group.Members()[1].EncryptionKey
	commit, _ = alice.commit(t, tsCommit{})
	got = deliver(t, commit, "commit", bob, carol, dave)
	if !slices.Equal(got[0].Commit.Updated, []uint32{1}) {
		t.Errorf("bob's view of alice's commit: updated leaves %v, want [1]", got[0].Commit.Updated)
	}
	if bytes.Equal(bob.group.Members()[1].EncryptionKey, keyBefore) {
		t.Error("bob's leaf encryption key did not change with his committed Update")
	}
	agree(t, "alice committed bob's update", 5, four, alice, bob, carol, dave)
	exchangeFrom(t, "epoch 5", []member{alice, bob, carol}, alice, bob, carol, dave)

	// Epoch 6: the engine commits a remove; ts-mls members process it.
	commit, _ = bob.commit(t, engine.CommitOptions{Remove: []uint32{2}})
	deliver(t, commit, "commit", alice, carol, dave)
	// ts-mls marks a member removed by a commit inactive and leaves it in
	// the old epoch: it cannot derive the new one.
	if st := p.must(t, peerRequest{Op: "state", Client: carol.name}); st.Active {
		t.Errorf("ts-mls carol still active at epoch %d after the engine's commit removed her", st.Epoch)
	}
	noCarol := map[uint32]string{0: "alice", 1: "bob", 3: "dave"}
	agree(t, "bob removed carol", 6, noCarol, alice, bob, dave)
	exchangeFrom(t, "epoch 6", []member{alice, bob}, alice, bob, dave)
	if r, err := carol.Process(bob.Encrypt(t, []byte("not for carol"))); err == nil {
		t.Errorf("removed carol processed a message of the next epoch: %+v", r)
	}

	// Epoch 7: the second engine member commits a self-update with a PSK;
	// as his first commit since the restore it lets him send again.
	commit, _ = dave.commit(t, engine.CommitOptions{SelfUpdate: true, ExternalPSKs: [][]byte{pskID}})
	deliver(t, commit, "commit", alice, bob)
	agree(t, "dave updated", 7, noCarol, alice, bob, dave)
	exchange(t, "epoch 7", alice, bob, dave)

	// Epoch 8: ts-mls removes an engine member, which learns it.
	commit, _ = alice.commit(t, tsCommit{remove: []uint32{1}})
	got = deliver(t, commit, "commit", bob, dave)
	if !got[0].Commit.SelfRemoved {
		t.Errorf("bob's view of his removal: %+v, want SelfRemoved", got[0].Commit)
	}
	if len(got[1].Commit.Removed) != 1 || !bytes.Equal(got[1].Commit.Removed[0].Identity, []byte("bob")) {
		t.Errorf("dave's view of bob's removal: removed %+v, want bob", got[1].Commit.Removed)
	}
	agree(t, "alice removed bob", 8, map[uint32]string{0: "alice", 3: "dave"}, alice, dave)
	exchange(t, "epoch 8", alice, dave)
}

// suites lists the cipher suites to test: all seven, or with -short only
// suite 1 (for quick local runs; CI runs them all).
func suites() []suite.ID {
	if testing.Short() {
		return []suite.ID{suite.X25519AES128GCMSHA256Ed25519}
	}
	return suite.All()
}

// deliver has every member of to process msg, which must be of kind want.
func deliver(t *testing.T, msg []byte, want string, to ...member) []*received {
	t.Helper()
	var out []*received
	for _, m := range to {
		r, err := m.Process(msg)
		if err != nil {
			t.Fatal(err)
		}
		if r.Kind != want {
			t.Fatalf("%s processed a %s, want a %s", m.Name(), r.Kind, want)
		}
		out = append(out, r)
	}
	return out
}

// agree checks that every member is at epoch and that all share the epoch
// authenticator, the exporter value and the member list want (leaf index to
// identity), each at a distinct leaf holding its own name.
func agree(t *testing.T, step string, epoch uint64, want map[uint32]string, ms ...member) {
	t.Helper()
	var first view
	for i, m := range ms {
		v := m.View(t)
		if v.Epoch != epoch {
			t.Fatalf("%s: %s is at epoch %d, want %d", step, m.Name(), v.Epoch, epoch)
		}
		if len(v.EpochAuthenticator) == 0 || len(v.Exporter) != exporterLength {
			t.Fatalf("%s: %s reports authenticator %x, exporter %x", step, m.Name(), v.EpochAuthenticator, v.Exporter)
		}
		got := map[uint32]string{}
		for _, mem := range v.Members {
			got[mem.Index] = string(mem.Identity)
		}
		if !mapsEqual(got, want) {
			t.Fatalf("%s: %s sees members %v, want %v", step, m.Name(), got, want)
		}
		if name := want[v.OwnIndex]; !strings.HasPrefix(m.Name(), name+" ") {
			t.Fatalf("%s: %s thinks it is leaf %d (%q)", step, m.Name(), v.OwnIndex, name)
		}
		if i == 0 {
			first = v
			continue
		}
		if !bytes.Equal(v.EpochAuthenticator, first.EpochAuthenticator) {
			t.Fatalf("%s: epoch %d authenticator of %s is %x, of %s %x", step, epoch, m.Name(), v.EpochAuthenticator, ms[0].Name(), first.EpochAuthenticator)
		}
		if !bytes.Equal(v.Exporter, first.Exporter) {
			t.Fatalf("%s: epoch %d exporter of %s is %x, of %s %x", step, epoch, m.Name(), v.Exporter, ms[0].Name(), first.Exporter)
		}
	}
}

func mapsEqual(a, b map[uint32]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// exchange has every member send an application message that every other
// member must decrypt to the same bytes.
func exchange(t *testing.T, step string, ms ...member) {
	t.Helper()
	exchangeFrom(t, step, ms, ms...)
}

// exchangeFrom has every member of senders send one message that every
// other member of ms decrypts.
func exchangeFrom(t *testing.T, step string, senders []member, ms ...member) {
	t.Helper()
	for _, from := range senders {
		data := []byte(fmt.Sprintf("%s: hello from %s", step, from.Name()))
		msg := from.Encrypt(t, data)
		for _, to := range ms {
			if to == from {
				continue
			}
			r, err := to.Process(msg)
			if err != nil {
				t.Fatalf("%s: message from %s: %v", step, from.Name(), err)
			}
			if r.Kind != "application" || !bytes.Equal(r.Data, data) {
				t.Fatalf("%s: %s got %s %q from %s, want application %q", step, to.Name(), r.Kind, r.Data, from.Name(), data)
			}
		}
	}
}

// outOfOrder has from send two messages that to processes in reverse order.
func outOfOrder(t *testing.T, from, to member) {
	t.Helper()
	first, second := []byte("first from "+from.Name()), []byte("second from "+from.Name())
	m1, m2 := from.Encrypt(t, first), from.Encrypt(t, second)
	for _, c := range []struct {
		msg, want []byte
	}{{m2, second}, {m1, first}} {
		r, err := to.Process(c.msg)
		if err != nil {
			t.Fatalf("out of order from %s: %v", from.Name(), err)
		}
		if !bytes.Equal(r.Data, c.want) {
			t.Fatalf("out of order: %s got %q, want %q", to.Name(), r.Data, c.want)
		}
	}
}

// wantAdded checks that an engine member saw identity added at leaf.
func wantAdded(t *testing.T, r *received, leaf uint32, identity string) {
	t.Helper()
	if r.Commit == nil || len(r.Commit.Added) != 1 {
		t.Fatalf("commit adds %+v, want one member", r.Commit)
	}
	if a := r.Commit.Added[0]; a.Index != leaf || string(a.Identity) != identity {
		t.Fatalf("commit added %q at leaf %d, want %q at %d", a.Identity, a.Index, identity, leaf)
	}
}
