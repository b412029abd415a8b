package framing

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// protectionVector is one case of message-protection.json.
type protectionVector struct {
	CipherSuite             uint16      `json:"cipher_suite"`
	GroupID                 vectors.Hex `json:"group_id"`
	Epoch                   uint64      `json:"epoch"`
	TreeHash                vectors.Hex `json:"tree_hash"`
	ConfirmedTranscriptHash vectors.Hex `json:"confirmed_transcript_hash"`
	SignaturePriv           vectors.Hex `json:"signature_priv"`
	SignaturePub            vectors.Hex `json:"signature_pub"`
	EncryptionSecret        vectors.Hex `json:"encryption_secret"`
	SenderDataSecret        vectors.Hex `json:"sender_data_secret"`
	MembershipKey           vectors.Hex `json:"membership_key"`
	Proposal                vectors.Hex `json:"proposal"`
	ProposalPub             vectors.Hex `json:"proposal_pub"`
	ProposalPriv            vectors.Hex `json:"proposal_priv"`
	Commit                  vectors.Hex `json:"commit"`
	CommitPub               vectors.Hex `json:"commit_pub"`
	CommitPriv              vectors.Hex `json:"commit_priv"`
	Application             vectors.Hex `json:"application"`
	ApplicationPriv         vectors.Hex `json:"application_priv"`
}

func (v *protectionVector) groupContext() *wire.GroupContext {
	return &wire.GroupContext{
		Version: wire.ProtocolVersionMLS10, CipherSuite: wire.CipherSuite(v.CipherSuite),
		GroupID: v.GroupID, Epoch: v.Epoch, TreeHash: v.TreeHash,
		ConfirmedTranscriptHash: v.ConfirmedTranscriptHash, Extensions: wire.Extensions{},
	}
}

// protectionItem is one of the proposal, commit and application parts of a case.
type protectionItem struct {
	name string
	ct   wire.ContentType
	raw  []byte // encoded Proposal, Commit or application data
	pub  []byte // MLSMessage(PublicMessage), nil for application
	priv []byte // MLSMessage(PrivateMessage)
}

func (v *protectionVector) items() []protectionItem {
	return []protectionItem{
		{"proposal", wire.ContentTypeProposal, v.Proposal, v.ProposalPub, v.ProposalPriv},
		{"commit", wire.ContentTypeCommit, v.Commit, v.CommitPub, v.CommitPriv},
		{"application", wire.ContentTypeApplication, v.Application, nil, v.ApplicationPriv},
	}
}

func loadProtection(t *testing.T) []protectionVector {
	t.Helper()
	var cases []protectionVector
	if err := vectors.Load("message-protection", &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("message-protection.json has no cases")
	}
	return cases
}

// rawContent returns the encoding of the content's body as the vectors
// give it: the Proposal, the Commit or the application data.
func rawContent(c *wire.FramedContent) []byte {
	switch c.ContentType {
	case wire.ContentTypeProposal:
		return codec.Marshal(c.Proposal)
	case wire.ContentTypeCommit:
		return codec.Marshal(c.Commit)
	}
	return c.ApplicationData
}

// framedContent builds the content the vectors' sender (leaf 1) sends.
func framedContent(t *testing.T, v *protectionVector, it protectionItem) *wire.FramedContent {
	t.Helper()
	fc := &wire.FramedContent{
		GroupID: v.GroupID, Epoch: v.Epoch,
		Sender:            wire.Sender{SenderType: wire.SenderTypeMember, LeafIndex: 1},
		AuthenticatedData: []byte{}, ContentType: it.ct,
	}
	switch it.ct {
	case wire.ContentTypeProposal:
		fc.Proposal = new(wire.Proposal)
		if err := codec.Unmarshal(it.raw, fc.Proposal); err != nil {
			t.Fatalf("%s: decode proposal: %v", it.name, err)
		}
	case wire.ContentTypeCommit:
		fc.Commit = new(wire.Commit)
		if err := codec.Unmarshal(it.raw, fc.Commit); err != nil {
			t.Fatalf("%s: decode commit: %v", it.name, err)
		}
	default:
		fc.ApplicationData = it.raw
	}
	return fc
}

func decodeMessage(t *testing.T, b []byte, wf wire.WireFormat) *wire.MLSMessage {
	t.Helper()
	var m wire.MLSMessage
	if err := codec.Unmarshal(b, &m); err != nil {
		t.Fatalf("decode message: %v", err)
	}
	if m.WireFormat != wf {
		t.Fatalf("wire format %d, want %d", m.WireFormat, wf)
	}
	return &m
}

// checkPublic runs the PublicMessage checks of one item: the vector's
// message verifies and carries the raw content, and our own protection of
// the raw content verifies (or, for application data, is refused).
func checkPublic(t *testing.T, s *suite.Suite, v *protectionVector, it protectionItem) {
	t.Helper()
	gc := v.groupContext()
	fc := framedContent(t, v, it)
	if it.pub == nil {
		ac, err := Sign(s, v.SignaturePriv, wire.WireFormatPublicMessage, fc, gc)
		if err == nil {
			_, err = ProtectPublic(s, v.MembershipKey, ac, gc)
		}
		if !errors.Is(err, ErrNotAllowed) {
			t.Fatalf("%s: protect as public message: got %v, want ErrNotAllowed", it.name, err)
		}
		return
	}
	m := decodeMessage(t, it.pub, wire.WireFormatPublicMessage)
	ac, err := UnprotectPublic(s, v.MembershipKey, m.PublicMessage, gc)
	if err != nil {
		t.Fatalf("%s: unprotect vector public message: %v", it.name, err)
	}
	if err := VerifySignature(s, v.SignaturePub, ac, gc); err != nil {
		t.Fatalf("%s: verify vector public message: %v", it.name, err)
	}
	if got := rawContent(&ac.Content); !bytes.Equal(got, it.raw) {
		t.Fatalf("%s: public content %x, want %x", it.name, got, it.raw)
	}

	mine, err := Sign(s, v.SignaturePriv, wire.WireFormatPublicMessage, fc, gc)
	if err != nil {
		t.Fatalf("%s: sign: %v", it.name, err)
	}
	mine.Auth.ConfirmationTag = ac.Auth.ConfirmationTag
	pm, err := ProtectPublic(s, v.MembershipKey, mine, gc)
	if err != nil {
		t.Fatalf("%s: protect public: %v", it.name, err)
	}
	enc := codec.Marshal(wire.MLSMessage{Version: wire.ProtocolVersionMLS10, WireFormat: wire.WireFormatPublicMessage, PublicMessage: pm})
	back := decodeMessage(t, enc, wire.WireFormatPublicMessage)
	got, err := UnprotectPublic(s, v.MembershipKey, back.PublicMessage, gc)
	if err != nil {
		t.Fatalf("%s: unprotect own public message: %v", it.name, err)
	}
	if err := VerifySignature(s, v.SignaturePub, got, gc); err != nil {
		t.Fatalf("%s: verify own public message: %v", it.name, err)
	}
	if !bytes.Equal(rawContent(&got.Content), it.raw) {
		t.Fatalf("%s: own public message content differs", it.name)
	}
}

func TestProtectRandomReuseGuard(t *testing.T) {
	// Two protections of the same content with the same ratchet secret
	// must differ in the reuse guard (and thus the nonce).
	s := newSuite(t, 1)
	priv, _, err := s.GenerateSignatureKey()
	if err != nil {
		t.Fatal(err)
	}
	gc := &wire.GroupContext{Version: 1, CipherSuite: 1, GroupID: []byte("g"), Epoch: 1}
	fc := &wire.FramedContent{GroupID: gc.GroupID, Epoch: 1, Sender: wire.Sender{SenderType: wire.SenderTypeMember},
		ContentType: wire.ContentTypeApplication, ApplicationData: []byte("x")}
	ac, err := Sign(s, priv, wire.WireFormatPrivateMessage, fc, gc)
	if err != nil {
		t.Fatal(err)
	}
	secret := RatchetSecret{Key: make([]byte, s.KeySize()), Nonce: make([]byte, s.NonceSize())}
	a, err := ProtectPrivate(s, make([]byte, s.Nh()), ac, secret, 0, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ProtectPrivate(s, make([]byte, s.Nh()), ac, secret, 0, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Ciphertext, b.Ciphertext) {
		t.Fatal("two protections with the same key produced the same ciphertext")
	}
}
