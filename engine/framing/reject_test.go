package framing

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// fixture is a small group epoch for negative tests, with leaf 1 sending.
type fixture struct {
	s                *suite.Suite
	gc               *wire.GroupContext
	sigPriv, sigPub  []byte
	membershipKey    []byte
	senderDataSecret []byte
	keys             KeyFunc
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	s := newSuite(t, 1)
	priv, pub, err := s.GenerateSignatureKey()
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{
		s:       s,
		gc:      &wire.GroupContext{Version: 1, CipherSuite: 1, GroupID: []byte("group"), Epoch: 5, TreeHash: []byte("th"), ConfirmedTranscriptHash: []byte("cth"), Extensions: wire.Extensions{}},
		sigPriv: priv, sigPub: pub,
		membershipKey:    bytes.Repeat([]byte{1}, s.Nh()),
		senderDataSecret: bytes.Repeat([]byte{2}, s.Nh()),
		keys:             TreeKeys(vectorTree(t, s, bytes.Repeat([]byte{3}, s.Nh()))),
	}
}

func (f *fixture) content(ct wire.ContentType, sender wire.Sender) *wire.FramedContent {
	fc := &wire.FramedContent{GroupID: f.gc.GroupID, Epoch: f.gc.Epoch, Sender: sender, AuthenticatedData: []byte("ad"), ContentType: ct}
	switch ct {
	case wire.ContentTypeApplication:
		fc.ApplicationData = []byte("hello")
	case wire.ContentTypeProposal:
		fc.Proposal = &wire.Proposal{ProposalType: wire.ProposalTypeRemove, Remove: &wire.Remove{Removed: 0}}
	case wire.ContentTypeCommit:
		fc.Commit = &wire.Commit{Proposals: []wire.ProposalOrRef{}}
	}
	return fc
}

var member1 = wire.Sender{SenderType: wire.SenderTypeMember, LeafIndex: 1}

// public returns an encoded, valid public proposal (or commit) from leaf 1.
func (f *fixture) public(t testing.TB, ct wire.ContentType, sender wire.Sender) *wire.PublicMessage {
	t.Helper()
	ac, err := Sign(f.s, f.sigPriv, wire.WireFormatPublicMessage, f.content(ct, sender), f.gc)
	if err != nil {
		t.Fatal(err)
	}
	if ct == wire.ContentTypeCommit {
		ac.Auth.ConfirmationTag = []byte("tag")
	}
	pm, err := ProtectPublic(f.s, f.membershipKey, ac, f.gc)
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

// reparse encodes and decodes pm, so each test case gets its own copy.
func reparse[T any, PT interface {
	*T
	codec.Marshaler
	codec.Unmarshaler
}](t *testing.T, v PT) PT {
	t.Helper()
	out := PT(new(T))
	if err := codec.Unmarshal(bytes.Clone(codec.Marshal(v)), out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestUnprotectPublicRejects(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name   string
		mutate func(pm *wire.PublicMessage, gc *wire.GroupContext)
		want   error
	}{
		{"valid", func(*wire.PublicMessage, *wire.GroupContext) {}, nil},
		{"wrong group", func(pm *wire.PublicMessage, _ *wire.GroupContext) { pm.Content.GroupID = []byte("other") }, ErrWrongGroup},
		{"old epoch", func(pm *wire.PublicMessage, _ *wire.GroupContext) { pm.Content.Epoch-- }, ErrWrongEpoch},
		{"future epoch", func(pm *wire.PublicMessage, _ *wire.GroupContext) { pm.Content.Epoch++ }, ErrWrongEpoch},
		{"flipped membership tag", func(pm *wire.PublicMessage, _ *wire.GroupContext) { pm.MembershipTag[0] ^= 1 }, ErrBadMembershipTag},
		{"empty membership tag", func(pm *wire.PublicMessage, _ *wire.GroupContext) { pm.MembershipTag = nil }, ErrBadMembershipTag},
		{"changed sender", func(pm *wire.PublicMessage, _ *wire.GroupContext) { pm.Content.Sender.LeafIndex = 0 }, ErrBadMembershipTag},
		{"changed authenticated data", func(pm *wire.PublicMessage, _ *wire.GroupContext) { pm.Content.AuthenticatedData = []byte("x") }, ErrBadMembershipTag},
		{"changed context", func(_ *wire.PublicMessage, gc *wire.GroupContext) { gc.TreeHash = []byte("other") }, ErrBadMembershipTag},
		{"application content", func(pm *wire.PublicMessage, _ *wire.GroupContext) {
			pm.Content.ContentType, pm.Content.ApplicationData = wire.ContentTypeApplication, []byte("x")
		}, ErrNotAllowed},
		{"external sender commit", func(pm *wire.PublicMessage, _ *wire.GroupContext) {
			pm.Content.Sender = wire.Sender{SenderType: wire.SenderTypeExternal}
			pm.Content.ContentType, pm.Content.Commit = wire.ContentTypeCommit, &wire.Commit{}
			pm.Auth.ConfirmationTag = []byte("t")
		}, ErrNotAllowed},
		{"new member commit carrying a proposal", func(pm *wire.PublicMessage, _ *wire.GroupContext) {
			pm.Content.Sender = wire.Sender{SenderType: wire.SenderTypeNewMemberCommit}
		}, ErrNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pm := reparse(t, f.public(t, wire.ContentTypeProposal, member1))
			gc := reparse(t, f.gc)
			tc.mutate(pm, gc)
			_, err := UnprotectPublic(f.s, f.membershipKey, pm, gc)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestVerifySignatureRejects(t *testing.T) {
	f := newFixture(t)
	_, otherPub, err := f.s.GenerateSignatureKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		sender wire.Sender
		ct     wire.ContentType
		mutate func(ac *wire.AuthenticatedContent, gc *wire.GroupContext) []byte
		want   error
	}{
		{"valid member", member1, wire.ContentTypeProposal, func(*wire.AuthenticatedContent, *wire.GroupContext) []byte { return f.sigPub }, nil},
		{"valid external", wire.Sender{SenderType: wire.SenderTypeExternal, SenderIndex: 2}, wire.ContentTypeProposal,
			func(*wire.AuthenticatedContent, *wire.GroupContext) []byte { return f.sigPub }, nil},
		{"valid new member commit", wire.Sender{SenderType: wire.SenderTypeNewMemberCommit}, wire.ContentTypeCommit,
			func(*wire.AuthenticatedContent, *wire.GroupContext) []byte { return f.sigPub }, nil},
		{"other key", member1, wire.ContentTypeProposal, func(*wire.AuthenticatedContent, *wire.GroupContext) []byte { return otherPub }, ErrBadSignature},
		{"flipped signature", member1, wire.ContentTypeProposal, func(ac *wire.AuthenticatedContent, _ *wire.GroupContext) []byte {
			ac.Auth.Signature[len(ac.Auth.Signature)-1] ^= 1
			return f.sigPub
		}, ErrBadSignature},
		{"other context", member1, wire.ContentTypeProposal, func(_ *wire.AuthenticatedContent, gc *wire.GroupContext) []byte {
			gc.ConfirmedTranscriptHash = []byte("x")
			return f.sigPub
		}, ErrBadSignature},
		{"other wire format", member1, wire.ContentTypeProposal, func(ac *wire.AuthenticatedContent, _ *wire.GroupContext) []byte {
			ac.WireFormat = wire.WireFormatPrivateMessage
			return f.sigPub
		}, ErrBadSignature},
		{"other content", member1, wire.ContentTypeProposal, func(ac *wire.AuthenticatedContent, _ *wire.GroupContext) []byte {
			ac.Content.Proposal.Remove.Removed = 9
			return f.sigPub
		}, ErrBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pm := reparse(t, f.public(t, tc.ct, tc.sender))
			gc := reparse(t, f.gc)
			ac := pm.AuthenticatedContent()
			pub := tc.mutate(ac, gc)
			err := VerifySignature(f.s, pub, ac, gc)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestProtectRejects(t *testing.T) {
	f := newFixture(t)
	secret := RatchetSecret{Key: make([]byte, f.s.KeySize()), Nonce: make([]byte, f.s.NonceSize())}
	sign := func(wf wire.WireFormat, ct wire.ContentType, sender wire.Sender) *wire.AuthenticatedContent {
		return &wire.AuthenticatedContent{WireFormat: wf, Content: *f.content(ct, sender), Auth: wire.FramedContentAuthData{Signature: []byte("s")}}
	}
	external := wire.Sender{SenderType: wire.SenderTypeExternal}
	for _, tc := range []struct {
		name string
		run  func() error
		want error
	}{
		{"public application", func() error {
			_, err := ProtectPublic(f.s, f.membershipKey, sign(wire.WireFormatPublicMessage, wire.ContentTypeApplication, member1), f.gc)
			return err
		}, ErrNotAllowed},
		{"public commit without confirmation tag", func() error {
			_, err := ProtectPublic(f.s, f.membershipKey, sign(wire.WireFormatPublicMessage, wire.ContentTypeCommit, member1), f.gc)
			return err
		}, ErrMalformed},
		{"public with private wire format", func() error {
			_, err := ProtectPublic(f.s, f.membershipKey, sign(wire.WireFormatPrivateMessage, wire.ContentTypeProposal, member1), f.gc)
			return err
		}, ErrNotAllowed},
		{"private from external sender", func() error {
			_, err := ProtectPrivate(f.s, f.senderDataSecret, sign(wire.WireFormatPrivateMessage, wire.ContentTypeProposal, external), secret, 0, rand.Reader)
			return err
		}, ErrNotAllowed},
		{"private with public wire format", func() error {
			_, err := ProtectPrivate(f.s, f.senderDataSecret, sign(wire.WireFormatPublicMessage, wire.ContentTypeProposal, member1), secret, 0, rand.Reader)
			return err
		}, ErrNotAllowed},
		{"sign member content without context", func() error {
			_, err := Sign(f.s, f.sigPriv, wire.WireFormatPublicMessage, f.content(wire.ContentTypeProposal, member1), nil)
			return err
		}, ErrMalformed},
		{"sign external commit", func() error {
			_, err := Sign(f.s, f.sigPriv, wire.WireFormatPublicMessage, f.content(wire.ContentTypeCommit, external), f.gc)
			return err
		}, ErrNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}
