package framing

import (
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// FuzzUnprotectPrivateContent feeds arbitrary decrypted plaintexts through
// UnprotectPrivate: it must return an error or content, never panic.
func FuzzUnprotectPrivateContent(f *testing.F) {
	for _, ct := range []wire.ContentType{wire.ContentTypeApplication, wire.ContentTypeProposal, wire.ContentTypeCommit} {
		f.Add(uint8(ct), codec.Marshal(wire.PrivateMessageContent{ContentType: ct, ApplicationData: []byte("a"),
			Proposal: &wire.Proposal{ProposalType: wire.ProposalTypeRemove, Remove: &wire.Remove{}},
			Commit:   &wire.Commit{}, Auth: wire.FramedContentAuthData{Signature: []byte("s"), ConfirmationTag: []byte("t")}, PaddingLen: 3}))
	}
	fx := newFixture(f)
	f.Fuzz(func(t *testing.T, ct uint8, plaintext []byte) {
		if !(wire.ContentType(ct) >= wire.ContentTypeApplication && wire.ContentType(ct) <= wire.ContentTypeCommit) {
			return
		}
		pm := fx.sealRaw(t, wire.ContentType(ct), plaintext)
		ac, _, err := UnprotectPrivate(fx.s, fx.senderDataSecret, pm, fx.gc, fx.keys)
		if err == nil && ac.Content.ContentType != wire.ContentType(ct) {
			t.Fatalf("content type %d, want %d", ac.Content.ContentType, ct)
		}
	})
}

// FuzzUnprotectPublic feeds arbitrary MLSMessages through UnprotectPublic
// and VerifySignature.
func FuzzUnprotectPublic(f *testing.F) {
	fx := newFixture(f)
	for _, ct := range []wire.ContentType{wire.ContentTypeProposal, wire.ContentTypeCommit} {
		pm := fx.public(f, ct, member1)
		f.Add(codec.Marshal(wire.MLSMessage{Version: 1, WireFormat: wire.WireFormatPublicMessage, PublicMessage: pm}))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m wire.MLSMessage
		if codec.Unmarshal(data, &m) != nil || m.PublicMessage == nil {
			return
		}
		ac, err := UnprotectPublic(fx.s, fx.membershipKey, m.PublicMessage, fx.gc)
		if err != nil {
			return
		}
		_ = VerifySignature(fx.s, fx.sigPub, ac, fx.gc)
	})
}
