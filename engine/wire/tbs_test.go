package wire

import (
	"bytes"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
)

// withoutSignature returns the encoding of v with an empty trailing
// signature, minus that signature's one-byte length header: the TBS prefix.
func withoutSignature(enc []byte) []byte { return enc[:len(enc)-1] }

func TestLeafNodeTBS(t *testing.T) {
	gid := []byte("group")
	for _, tc := range []struct {
		src        LeafNodeSource
		wantSuffix []byte
	}{
		{LeafNodeSourceKeyPackage, nil},
		{LeafNodeSourceUpdate, cat([]byte{5}, gid, []byte{0, 0, 1, 2})},
		{LeafNodeSourceCommit, cat([]byte{5}, gid, []byte{0, 0, 1, 2})},
	} {
		l := sampleLeaf(tc.src)
		unsigned := l
		unsigned.Signature = nil
		want := cat(withoutSignature(codec.Marshal(unsigned)), tc.wantSuffix)
		if got := l.TBS(gid, 0x0102); !bytes.Equal(got, want) {
			t.Errorf("source %d: TBS\n got %x\nwant %x", tc.src, got, want)
		}
	}
}

func TestKeyPackageAndGroupInfoTBS(t *testing.T) {
	kp := sampleKeyPackage()
	unsignedKP := kp
	unsignedKP.Signature = nil
	if got, want := kp.TBS(), withoutSignature(codec.Marshal(unsignedKP)); !bytes.Equal(got, want) {
		t.Errorf("KeyPackageTBS\n got %x\nwant %x", got, want)
	}
	gi := GroupInfo{GroupContext: sampleGroupContext(), ConfirmationTag: []byte("t"), Signer: 3, Signature: []byte("s")}
	unsignedGI := gi
	unsignedGI.Signature = nil
	if got, want := gi.TBS(), withoutSignature(codec.Marshal(unsignedGI)); !bytes.Equal(got, want) {
		t.Errorf("GroupInfoTBS\n got %x\nwant %x", got, want)
	}
}

func TestFramedContentTBSContext(t *testing.T) {
	gc := sampleGroupContext()
	for _, tc := range []struct {
		sender      SenderType
		wantContext bool
	}{
		{SenderTypeMember, true},
		{SenderTypeNewMemberCommit, true},
		{SenderTypeExternal, false},
		{SenderTypeNewMemberProposal, false},
	} {
		fc := sampleContent(ContentTypeProposal, Sender{SenderType: tc.sender})
		got := codec.Marshal(FramedContentTBS{WireFormat: WireFormatPublicMessage, Content: &fc, Context: &gc})
		want := cat([]byte{0, 1, 0, 1}, codec.Marshal(fc))
		if tc.wantContext {
			want = cat(want, codec.Marshal(gc))
		}
		if !bytes.Equal(got, want) {
			t.Errorf("sender %d: FramedContentTBS\n got %x\nwant %x", tc.sender, got, want)
		}
		auth := FramedContentAuthData{Signature: []byte("sig")}
		tbm := codec.Marshal(AuthenticatedContentTBM{ContentTBS: FramedContentTBS{WireFormat: WireFormatPublicMessage, Content: &fc, Context: &gc}, Auth: &auth})
		if wantTBM := cat(want, []byte{3}, []byte("sig")); !bytes.Equal(tbm, wantTBM) {
			t.Errorf("sender %d: AuthenticatedContentTBM\n got %x\nwant %x", tc.sender, tbm, wantTBM)
		}
	}
}

func TestRefHash(t *testing.T) {
	var seen []byte
	hash := func(b []byte) []byte { seen = append([]byte(nil), b...); return []byte{0xaa} }
	got := MakeKeyPackageRef(hash, []byte{1, 2})
	want := cat([]byte{byte(len(KeyPackageRefLabel))}, []byte(KeyPackageRefLabel), []byte{2, 1, 2})
	if !bytes.Equal(got, []byte{0xaa}) || !bytes.Equal(seen, want) {
		t.Errorf("KeyPackageRef hashed %q, want %q", seen, want)
	}
	MakeProposalRef(hash, []byte{3})
	want = cat([]byte{byte(len(ProposalRefLabel))}, []byte(ProposalRefLabel), []byte{1, 3})
	if !bytes.Equal(seen, want) {
		t.Errorf("ProposalRef hashed %q, want %q", seen, want)
	}
}
