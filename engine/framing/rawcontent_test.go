package framing

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// TestInputsFromRawContent checks, for the public messages of
// message-protection.json as the engine receives them (through
// wire.ParseMLSMessage, which keeps the content's bytes), that the
// membership tag, signature and confirmed transcript hash built from those
// bytes are the ones built from the re-encoded structs, and that it is
// indeed those bytes that are authenticated.
func TestInputsFromRawContent(t *testing.T) {
	n := 0
	for _, v := range loadProtection(t) {
		s := newSuite(t, v.CipherSuite)
		gc := v.groupContext()
		for _, it := range v.items() {
			if it.pub == nil {
				continue
			}
			m, err := wire.ParseMLSMessage(it.pub, 0)
			if err != nil {
				t.Fatalf("suite %d %s: %v", v.CipherSuite, it.name, err)
			}
			pm := m.PublicMessage
			if pm.RawContent == nil {
				t.Fatalf("suite %d %s: no RawContent", v.CipherSuite, it.name)
			}
			ac, err := UnprotectPublic(s, v.MembershipKey, pm, gc)
			if err != nil {
				t.Fatalf("suite %d %s: unprotect: %v", v.CipherSuite, it.name, err)
			}
			if err := VerifySignature(s, v.SignaturePub, ac, gc); err != nil {
				t.Fatalf("suite %d %s: verify: %v", v.CipherSuite, it.name, err)
			}
			tbm := codec.Marshal(wire.AuthenticatedContentTBM{
				ContentTBS: wire.FramedContentTBS{WireFormat: ac.WireFormat, Content: &ac.Content, Context: gc}, Auth: &ac.Auth})
			if got, want := membershipTag(s, v.MembershipKey, ac, gc), s.MAC(v.MembershipKey, tbm); !bytes.Equal(got, want) || !bytes.Equal(got, pm.MembershipTag) {
				t.Fatalf("suite %d %s: membership tag %x, from the encoded TBM %x, in the message %x", v.CipherSuite, it.name, got, want, pm.MembershipTag)
			}
			if it.ct == wire.ContentTypeCommit {
				interim := bytes.Repeat([]byte{7}, s.Nh())
				got, err := ConfirmedTranscriptHash(s, interim, ac)
				if err != nil {
					t.Fatal(err)
				}
				in := codec.Marshal(wire.ConfirmedTranscriptHashInput{WireFormat: ac.WireFormat, Content: ac.Content, Signature: ac.Auth.Signature})
				if want := s.Hash(interim, in); !bytes.Equal(got, want) {
					t.Fatalf("suite %d %s: confirmed transcript hash %x, from the encoded input %x", v.CipherSuite, it.name, got, want)
				}
			}

			// Other bytes in RawContent than those received: the tag and
			// the signature fail, though the structs are unchanged.
			other := bytes.Clone(pm.RawContent)
			other[len(other)-1] ^= 1
			tampered := *pm
			tampered.RawContent = other
			if _, err := UnprotectPublic(s, v.MembershipKey, &tampered, gc); !errors.Is(err, ErrBadMembershipTag) {
				t.Fatalf("suite %d %s: tampered RawContent: unprotect got %v, want ErrBadMembershipTag", v.CipherSuite, it.name, err)
			}
			if err := VerifySignature(s, v.SignaturePub, tampered.AuthenticatedContent(), gc); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("suite %d %s: tampered RawContent: verify got %v, want ErrBadSignature", v.CipherSuite, it.name, err)
			}
			n++
		}
	}
	t.Logf("%d public messages", n)
}

// TestSignKeepsRawContent checks that the RawContent Sign returns is the
// content's encoding, for senders that sign the group context and for
// those that do not, and that the signature verifies with and without it.
func TestSignKeepsRawContent(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		sender wire.Sender
		ct     wire.ContentType
		wf     wire.WireFormat
	}{
		{member1, wire.ContentTypeApplication, wire.WireFormatPrivateMessage},
		{member1, wire.ContentTypeProposal, wire.WireFormatPublicMessage},
		{member1, wire.ContentTypeCommit, wire.WireFormatPublicMessage},
		{wire.Sender{SenderType: wire.SenderTypeExternal, SenderIndex: 1}, wire.ContentTypeProposal, wire.WireFormatPublicMessage},
		{wire.Sender{SenderType: wire.SenderTypeNewMemberProposal}, wire.ContentTypeProposal, wire.WireFormatPublicMessage},
		{wire.Sender{SenderType: wire.SenderTypeNewMemberCommit}, wire.ContentTypeCommit, wire.WireFormatPublicMessage},
	} {
		content := f.content(tc.ct, tc.sender)
		ac, err := Sign(f.s, f.sigPriv, tc.wf, content, f.gc)
		if err != nil {
			t.Fatal(err)
		}
		if want := codec.Marshal(content); !bytes.Equal(ac.RawContent, want) {
			t.Fatalf("sender %d content %d: RawContent %x, want %x", tc.sender.SenderType, tc.ct, ac.RawContent, want)
		}
		if err := VerifySignature(f.s, f.sigPub, ac, f.gc); err != nil {
			t.Fatalf("sender %d content %d: %v", tc.sender.SenderType, tc.ct, err)
		}
		ac.RawContent = nil
		if err := VerifySignature(f.s, f.sigPub, ac, f.gc); err != nil {
			t.Fatalf("sender %d content %d without RawContent: %v", tc.sender.SenderType, tc.ct, err)
		}
	}
}
