package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/framing"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// TestBadInput feeds bad messages to a member and checks each returns its
// typed error and leaves the stored state byte-for-byte unchanged (and the
// in-memory group usable).
func TestBadInput(t *testing.T) {
	ctx := context.Background()
	a, b := twoMembers(t, Options{MaxMessageSize: 64 << 10})

	appMsg, err := a.g.Encrypt(ctx, []byte("once"), nil)
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, appMsg, b)

	proposal, err := a.g.ProposeRemove(ctx, b.g.OwnIndex())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.g.ClearPendingCommit(ctx); err != nil {
		t.Fatal(err)
	}
	badTag := bytes.Clone(proposal)
	badTag[len(badTag)-1] ^= 0x01

	// A proposal signed with a stranger's key but with a valid membership
	// tag (computed with the group's key, as an insider could).
	s := a.g.s
	strangerPriv, _, err := s.cs.GenerateSignatureKey()
	if err != nil {
		t.Fatal(err)
	}
	badSig := protectProposal(t, s, strangerPriv, s.gc.GroupID, s.gc.Epoch)
	wrongGroup := protectProposal(t, s, s.sigPriv, []byte("another group"), s.gc.Epoch)
	wrongEpoch := protectProposal(t, s, s.sigPriv, s.gc.GroupID, s.gc.Epoch+5)

	outOfRange := privateFromLeaf(t, s, 7)

	privFlip, err := a.g.Encrypt(ctx, []byte("flip"), nil)
	if err != nil {
		t.Fatal(err)
	}
	privFlip[len(privFlip)-3] ^= 0x80

	fromStranger := newMember("mallory")
	if fromStranger.g, err = fromStranger.client.CreateGroup(ctx, suite1, b.g.GroupID()); err != nil {
		t.Fatal(err)
	}
	commitAndDeliver(t, fromStranger, CommitOptions{}) // to epoch 1, like b
	strangerApp, err := fromStranger.g.Encrypt(ctx, []byte("hi"), nil)
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name string
		msg  []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"garbage", []byte{0x00, 0x01, 0x00, 0x01, 0xff, 0xff}, ErrMalformed},
		{"truncated", proposal[:len(proposal)-5], ErrMalformed},
		{"trailing bytes", append(bytes.Clone(proposal), 0), ErrMalformed},
		{"key package", a.keyPackage(t, suite1), ErrMalformed},
		{"replayed", appMsg, ErrReplay},
		{"wrong epoch", wrongEpoch, ErrWrongEpoch},
		{"wrong group", wrongGroup, ErrWrongGroup},
		{"bad signature", badSig, ErrBadSignature},
		{"bad membership tag", badTag, ErrBadMembershipTag},
		{"ciphertext flipped", privFlip, ErrDecrypt},
		{"other group's keys", strangerApp, ErrDecrypt},
		{"oversized", make([]byte, 64<<10+1), ErrTooLarge},
		{"sender leaf out of range", outOfRange, ErrNotMember},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := b.st.Dump()
			auth := b.g.EpochAuthenticator()
			_, err := b.g.Process(ctx, c.msg)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if !sameDump(before, b.st.Dump()) {
				t.Fatal("stored state changed")
			}
			if !bytes.Equal(auth, b.g.EpochAuthenticator()) {
				t.Fatal("epoch changed")
			}
		})
	}
	// The group still works.
	deliver(t, proposal, b)
	sendAndCheck(t, a, "still fine", b)
	commitAndDeliver(t, a, CommitOptions{}, b)
}

// protectProposal frames an Update-free proposal (PSK-less Remove of leaf
// 1) from leaf 0 with the given signing key, group id and epoch, with a
// membership tag made with the group's current membership key.
func protectProposal(t *testing.T, s *groupState, sigPriv, groupID []byte, epoch uint64) []byte {
	t.Helper()
	gc := s.gc
	gc.GroupID = groupID
	gc.Epoch = epoch
	content := &wire.FramedContent{GroupID: groupID, Epoch: epoch, Sender: wire.Sender{SenderType: wire.SenderTypeMember, LeafIndex: 0},
		AuthenticatedData: []byte{}, ContentType: wire.ContentTypeProposal,
		Proposal: &wire.Proposal{ProposalType: wire.ProposalTypeRemove, Remove: &wire.Remove{Removed: 1}}}
	ac, err := framing.Sign(s.cs, sigPriv, wire.WireFormatPublicMessage, content, &gc)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := framing.ProtectPublic(s.cs, s.epoch.MembershipKey, ac, &gc)
	if err != nil {
		t.Fatal(err)
	}
	return codec.Marshal(wire.MLSMessage{Version: wire.ProtocolVersionMLS10, WireFormat: wire.WireFormatPublicMessage, PublicMessage: pm})
}

// privateFromLeaf frames an application message claiming sender leaf,
// with valid sender-data encryption (an insider's forgery).
func privateFromLeaf(t *testing.T, s *groupState, leaf uint32) []byte {
	t.Helper()
	content := &wire.FramedContent{GroupID: s.gc.GroupID, Epoch: s.gc.Epoch, Sender: wire.Sender{SenderType: wire.SenderTypeMember, LeafIndex: leaf},
		AuthenticatedData: []byte{}, ContentType: wire.ContentTypeApplication, ApplicationData: []byte("forged")}
	ac, err := framing.Sign(s.cs, s.sigPriv, wire.WireFormatPrivateMessage, content, &s.gc)
	if err != nil {
		t.Fatal(err)
	}
	secret := framing.RatchetSecret{Key: make([]byte, s.cs.KeySize()), Nonce: make([]byte, s.cs.NonceSize())}
	pm, err := framing.ProtectPrivate(s.cs, s.epoch.SenderDataSecret, ac, secret, 0, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return codec.Marshal(wire.MLSMessage{Version: wire.ProtocolVersionMLS10, WireFormat: wire.WireFormatPrivateMessage, PrivateMessage: pm})
}

// TestBadCommits feeds commits that authenticate as coming from a member
// but are invalid: a wrong confirmation tag, a missing required path, an
// unknown proposal reference. Each is refused with its typed error and
// leaves the receiver's storage unchanged.
func TestBadCommits(t *testing.T) {
	ctx := context.Background()
	a, b := twoMembers(t, Options{})
	s := a.g.s
	me := wire.Sender{SenderType: wire.SenderTypeMember, LeafIndex: 0}
	// frame signs a commit from a, sets a confirmation tag computed by the
	// key schedule (or garbage), and adds a valid membership tag.
	frame := func(c *wire.Commit, badTag bool) []byte {
		t.Helper()
		content := &wire.FramedContent{GroupID: s.gc.GroupID, Epoch: s.gc.Epoch, Sender: me, AuthenticatedData: []byte{}, ContentType: wire.ContentTypeCommit, Commit: c}
		ac, err := framing.Sign(s.cs, s.sigPriv, wire.WireFormatPublicMessage, content, &s.gc)
		if err != nil {
			t.Fatal(err)
		}
		ac.Auth.ConfirmationTag = make([]byte, s.cs.Nh())
		if st, err := s.stage(context.Background(), c, me, nil, a.g.opts); err == nil && !badTag {
			if err := st.finish(ctx, ac, true, a.g.opts); err != nil {
				t.Fatal(err)
			}
		}
		pm, err := framing.ProtectPublic(s.cs, s.epoch.MembershipKey, ac, &s.gc)
		if err != nil {
			t.Fatal(err)
		}
		return codec.Marshal(wire.MLSMessage{Version: wire.ProtocolVersionMLS10, WireFormat: wire.WireFormatPublicMessage, PublicMessage: pm})
	}
	remove := wire.Proposal{ProposalType: wire.ProposalTypeRemove, Remove: &wire.Remove{Removed: 1}}
	add := wire.Proposal{ProposalType: wire.ProposalTypeAdd, Add: &wire.Add{}}
	kp, _, err := decodeKeyPackage(newMember("c").keyPackage(t, suite1))
	if err != nil {
		t.Fatal(err)
	}
	add.Add.KeyPackage = *kp
	for _, c := range []struct {
		name string
		msg  []byte
		want error
	}{
		{"wrong confirmation tag", frame(&wire.Commit{Proposals: []wire.ProposalOrRef{byValue(add)}}, true), ErrBadConfirmationTag},
		{"remove without path", frame(&wire.Commit{Proposals: []wire.ProposalOrRef{byValue(remove)}}, false), ErrInvalidCommit},
		{"empty commit without path", frame(&wire.Commit{}, false), ErrInvalidCommit},
		{"unknown reference", frame(&wire.Commit{Proposals: []wire.ProposalOrRef{{Type: wire.ProposalOrRefTypeReference, Reference: make([]byte, 32)}}}, false), ErrInvalidProposal},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := b.st.Dump()
			if _, err := b.g.Process(ctx, c.msg); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if !sameDump(before, b.st.Dump()) {
				t.Fatal("storage changed")
			}
		})
	}
	commitAndDeliver(t, a, CommitOptions{SelfUpdate: true}, b)
	agree(t, a, b)
}
