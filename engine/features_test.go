package engine

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// TestExternalSenderProposal sets an external sender through a
// GroupContextExtensions commit; its Remove proposal is then committed by
// reference. A stranger's proposal is refused.
func TestExternalSenderProposal(t *testing.T) {
	ctx := context.Background()
	a, b := twoMembers(t, Options{})
	cs, err := suite.New(suite1)
	if err != nil {
		t.Fatal(err)
	}
	dsPriv, dsPub, err := cs.GenerateSignatureKey()
	if err != nil {
		t.Fatal(err)
	}
	c := newMember("carol")
	out := commitAndDeliver(t, a, CommitOptions{Add: [][]byte{c.keyPackage(t, suite1)}, ExternalSenders: []ExternalSender{{SignatureKey: dsPub, Identity: []byte("ds")}}}, b)
	if c.g, err = c.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
		t.Fatal(err)
	}
	agree(t, a, b, c)
	strangerPriv, _, _ := cs.GenerateSignatureKey()
	bad, err := ExternalProposeRemove(suite1, strangerPriv, a.g.GroupID(), a.g.Epoch(), 0, c.g.OwnIndex())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.Process(ctx, bad); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("stranger's proposal: got %v, want ErrBadSignature", err)
	}
	prop, err := ExternalProposeRemove(suite1, dsPriv, a.g.GroupID(), a.g.Epoch(), 0, c.g.OwnIndex())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range deliver(t, prop, a, b, c) {
		if r.Kind != ContentProposal || r.SenderType != 2 {
			t.Fatalf("got %+v, want an external proposal", r)
		}
	}
	out = commitAndDeliver(t, b, CommitOptions{}, a)
	if rs := deliver(t, out.Commit, c); !rs[0].Commit.SelfRemoved {
		t.Fatal("carol not removed by the external proposal")
	}
	agree(t, a, b)
}

// TestExternalPSKCommit injects an external PSK both members know; a member
// without it cannot process the commit.
func TestExternalPSKCommit(t *testing.T) {
	ctx := context.Background()
	psks := MapPSKStore{"psk-1": []byte("a shared secret of some length..")}
	a, b := twoMembers(t, Options{PSKs: psks})
	c := newMember("carol") // carol does not know the PSK
	out := commitAndDeliver(t, a, CommitOptions{Add: [][]byte{c.keyPackage(t, suite1)}}, b)
	var err error
	if c.g, err = c.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
		t.Fatal(err)
	}
	reloadWith := func(m *member) {
		g, err := LoadGroup(ctx, m.st, m.g.GroupID(), Options{PSKs: psks})
		if err != nil {
			t.Fatal(err)
		}
		m.g = g
	}
	reloadWith(a)
	reloadWith(b)
	out, err = a.g.Commit(ctx, CommitOptions{ExternalPSKs: [][]byte{[]byte("psk-1")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.g.MergePendingCommit(ctx); err != nil {
		t.Fatal(err)
	}
	deliver(t, out.Commit, b)
	agree(t, a, b)
	before := c.st.Dump()
	if _, err := c.g.Process(ctx, out.Commit); !errors.Is(err, ErrUnknownPSK) {
		t.Fatalf("carol without the psk: got %v, want ErrUnknownPSK", err)
	}
	if !sameDump(before, c.st.Dump()) {
		t.Fatal("failed commit changed carol's storage")
	}
}

// TestPrivateHandshake runs proposals and commits as PrivateMessages.
func TestPrivateHandshake(t *testing.T) {
	ctx := context.Background()
	opts := Options{PrivateHandshake: true}
	a, b := twoMembers(t, opts)
	c := newMember("carol")
	c.client = NewClient(c.st, []byte("carol"), opts)
	out := commitAndDeliver(t, a, CommitOptions{Add: [][]byte{c.keyPackage(t, suite1)}}, b)
	var err error
	if c.g, err = c.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
		t.Fatal(err)
	}
	prop, err := c.g.ProposeUpdate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := parseMessage(prop); m.PrivateMessage == nil {
		t.Fatal("proposal is not a PrivateMessage")
	}
	deliver(t, prop, a, b)
	out = commitAndDeliver(t, b, CommitOptions{}, a, c)
	if m, _ := parseMessage(out.Commit); m.PrivateMessage == nil {
		t.Fatal("commit is not a PrivateMessage")
	}
	agree(t, a, b, c)
	reload(t, b)
	commitAndDeliver(t, b, CommitOptions{Remove: []uint32{a.g.OwnIndex()}}, c)
	agree(t, b, c)
	sendAndCheck(t, c, "private", b)
}

// TestUnsupportedExtensionRejected checks that a GroupContextExtensions
// proposal with an extension no member supports is refused, and that a
// KeyPackage for another cipher suite cannot be added.
func TestUnsupportedExtensionRejected(t *testing.T) {
	ctx := context.Background()
	a, _ := twoMembers(t, Options{})
	s := a.g.s
	c := &wire.Commit{Proposals: []wire.ProposalOrRef{byValue(wire.Proposal{ProposalType: wire.ProposalTypeGroupContextExtensions,
		GroupContextExtensions: &wire.GroupContextExtensions{Extensions: wire.Extensions{{ExtensionType: 0xff00, ExtensionData: []byte{}}}}})}}
	if _, err := s.stage(ctx, c, wire.Sender{SenderType: wire.SenderTypeMember, LeafIndex: 0}, nil, a.g.opts); !errors.Is(err, ErrInvalidProposal) {
		t.Fatalf("unsupported extension: got %v, want ErrInvalidProposal", err)
	}
	other := newMember("p256")
	kp, err := other.client.CreateKeyPackage(ctx, suite.P256AES128GCMSHA256P256, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.g.Commit(ctx, CommitOptions{Add: [][]byte{kp}}); !errors.Is(err, ErrInvalidKeyPackage) {
		t.Fatalf("key package of another suite: got %v, want ErrInvalidKeyPackage", err)
	}
	if a.g.HasPendingCommit() {
		t.Fatal("failed commit left a pending commit")
	}
}

// TestConcurrentUse sends and proposes from several goroutines on one
// group while the other member processes; run with -race.
func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	a, b := twoMembers(t, Options{LeaseBlock: 4})
	msgs := make(chan []byte, 64)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 8; i++ {
				ct, err := a.g.Encrypt(ctx, []byte("x"), nil)
				if err != nil {
					t.Error(err)
					return
				}
				msgs <- ct
				_ = a.g.Epoch()
				_ = a.g.Members()
			}
		}()
	}
	wg.Wait()
	close(msgs)
	for m := range msgs {
		if _, err := b.g.Process(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	reload(t, a)
	sendAndCheck(t, a, "after", b)
}

// TestWelcomeWithoutTree joins from a Welcome whose GroupInfo omits the
// ratchet tree, with the tree passed out of band; without it the join fails.
func TestWelcomeWithoutTree(t *testing.T) {
	ctx := context.Background()
	opts := Options{OmitRatchetTree: true}
	a, b := newMember("alice"), newMember("bob")
	a.client = NewClient(a.st, []byte("alice"), opts)
	var err error
	if a.g, err = a.client.CreateGroup(ctx, suite1, nil); err != nil {
		t.Fatal(err)
	}
	out := commitAndDeliver(t, a, CommitOptions{Add: [][]byte{b.keyPackage(t, suite1)}})
	before := b.st.Dump()
	if _, err := b.client.JoinFromWelcome(ctx, out.Welcome, nil); !errors.Is(err, ErrInvalidWelcome) {
		t.Fatalf("join without tree: got %v, want ErrInvalidWelcome", err)
	}
	if !sameDump(before, b.st.Dump()) {
		t.Fatal("failed join changed storage")
	}
	if b.g, err = b.client.JoinFromWelcome(ctx, out.Welcome, a.g.s.tree.Encode()); err != nil {
		t.Fatal(err)
	}
	agree(t, a, b)
}
