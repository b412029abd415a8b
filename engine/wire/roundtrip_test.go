package wire

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
)

func sampleCredential(x509 bool) Credential {
	if x509 {
		return Credential{CredentialType: CredentialTypeX509, Certificates: [][]byte{[]byte("leaf"), []byte("ca")}}
	}
	return Credential{CredentialType: CredentialTypeBasic, Identity: []byte("alice")}
}

func sampleLeaf(src LeafNodeSource) LeafNode {
	l := LeafNode{
		EncryptionKey: []byte("enc"),
		SignatureKey:  []byte("sig"),
		Credential:    sampleCredential(src == LeafNodeSourceUpdate),
		Capabilities: Capabilities{
			Versions:     []ProtocolVersion{ProtocolVersionMLS10},
			CipherSuites: []CipherSuite{MLS128DHKEMX25519AES128GCMSHA256Ed25519, 0x0A0A},
			Extensions:   []ExtensionType{ExtensionApplicationID},
			Proposals:    []ProposalType{0x1A1A},
			Credentials:  []CredentialType{CredentialTypeBasic, CredentialTypeX509},
		},
		LeafNodeSource: src,
		Extensions:     Extensions{{ExtensionType: ExtensionApplicationID, ExtensionData: []byte("app")}},
		Signature:      []byte("signature"),
	}
	switch src {
	case LeafNodeSourceKeyPackage:
		l.Lifetime = Lifetime{NotBefore: 1, NotAfter: 1 << 40}
	case LeafNodeSourceCommit:
		l.ParentHash = []byte("parent-hash")
	}
	return l
}

func sampleKeyPackage() KeyPackage {
	return KeyPackage{
		Version:     ProtocolVersionMLS10,
		CipherSuite: MLS256DHKEMP521AES256GCMSHA512P521,
		InitKey:     []byte("init"),
		LeafNode:    sampleLeaf(LeafNodeSourceKeyPackage),
		Extensions:  Extensions{{ExtensionType: 0x3A3A, ExtensionData: []byte{}}},
		Signature:   []byte("kp-sig"),
	}
}

func sampleGroupContext() GroupContext {
	return GroupContext{
		Version: ProtocolVersionMLS10, CipherSuite: 1, GroupID: []byte("group"), Epoch: 7,
		TreeHash: []byte("th"), ConfirmedTranscriptHash: []byte("cth"),
		Extensions: Extensions{{ExtensionType: ExtensionExternalSenders, ExtensionData: []byte{0}}},
	}
}

func samplePSK(resumption bool) PreSharedKeyID {
	if resumption {
		return PreSharedKeyID{PSKType: PSKTypeResumption, Usage: ResumptionPSKUsageBranch,
			PSKGroupID: []byte("g"), PSKEpoch: 9, PSKNonce: []byte("nonce")}
	}
	return PreSharedKeyID{PSKType: PSKTypeExternal, PSKID: []byte("id"), PSKNonce: []byte("nonce")}
}

func sampleProposals() []Proposal {
	kp := sampleKeyPackage()
	return []Proposal{
		{ProposalType: ProposalTypeAdd, Add: &Add{KeyPackage: kp}},
		{ProposalType: ProposalTypeUpdate, Update: &Update{LeafNode: sampleLeaf(LeafNodeSourceUpdate)}},
		{ProposalType: ProposalTypeRemove, Remove: &Remove{Removed: 42}},
		{ProposalType: ProposalTypePSK, PreSharedKey: &PreSharedKey{PSK: samplePSK(true)}},
		{ProposalType: ProposalTypePSK, PreSharedKey: &PreSharedKey{PSK: samplePSK(false)}},
		{ProposalType: ProposalTypeReInit, ReInit: &ReInit{GroupID: []byte("new"), Version: 1, CipherSuite: 3,
			Extensions: Extensions{{ExtensionType: 9, ExtensionData: []byte("x")}}}},
		{ProposalType: ProposalTypeExternalInit, ExternalInit: &ExternalInit{KEMOutput: []byte("kem")}},
		{ProposalType: ProposalTypeGroupContextExtensions, GroupContextExtensions: &GroupContextExtensions{
			Extensions: Extensions{{ExtensionType: ExtensionRequiredCapabilities, ExtensionData: []byte("rc")}}}},
	}
}

func sampleCommit(withPath bool) Commit {
	ps := sampleProposals()
	c := Commit{Proposals: []ProposalOrRef{
		{Type: ProposalOrRefTypeProposal, Proposal: &ps[2]},
		{Type: ProposalOrRefTypeReference, Reference: []byte("ref")},
	}}
	if withPath {
		c.Path = &UpdatePath{LeafNode: sampleLeaf(LeafNodeSourceCommit), Nodes: []UpdatePathNode{{
			EncryptionKey: []byte("pk"),
			EncryptedPathSecret: []HPKECiphertext{
				{KEMOutput: []byte("k1"), Ciphertext: []byte("c1")},
				{KEMOutput: []byte("k2"), Ciphertext: []byte("c2")},
			},
		}}}
	}
	return c
}

func sampleContent(ct ContentType, sender Sender) FramedContent {
	fc := FramedContent{GroupID: []byte("group"), Epoch: 3, Sender: sender,
		AuthenticatedData: []byte("aad"), ContentType: ct}
	switch ct {
	case ContentTypeApplication:
		fc.ApplicationData = []byte("hello")
	case ContentTypeProposal:
		p := sampleProposals()[2]
		fc.Proposal = &p
	case ContentTypeCommit:
		c := sampleCommit(true)
		fc.Commit = &c
	}
	return fc
}

// roundTripCases returns one value of every decodable wire type, covering
// each variant of every tagged union.
func roundTripCases() map[string]codec.Marshaler {
	cases := map[string]codec.Marshaler{
		"credential/basic":  ptr(sampleCredential(false)),
		"credential/x509":   ptr(sampleCredential(true)),
		"leaf/key_package":  ptr(sampleLeaf(LeafNodeSourceKeyPackage)),
		"leaf/update":       ptr(sampleLeaf(LeafNodeSourceUpdate)),
		"leaf/commit":       ptr(sampleLeaf(LeafNodeSourceCommit)),
		"key_package":       ptr(sampleKeyPackage()),
		"group_context":     ptr(sampleGroupContext()),
		"commit/no_path":    ptr(sampleCommit(false)),
		"commit/path":       ptr(sampleCommit(true)),
		"psk_label":         &PSKLabel{ID: samplePSK(true), Index: 1, Count: 2},
		"required_caps":     &RequiredCapabilities{ExtensionTypes: []ExtensionType{5}, ProposalTypes: []ProposalType{}, CredentialTypes: []CredentialType{1}},
		"external_senders":  &ExternalSenders{{SignatureKey: []byte("s"), Credential: sampleCredential(false)}},
		"external_pub":      &ExternalPub{ExternalPub: []byte("pub")},
		"application_id":    &ApplicationID{ApplicationID: []byte("id")},
		"ref_hash_input":    &RefHashInput{Label: []byte("l"), Value: []byte("v")},
		"interim_input":     &InterimTranscriptHashInput{ConfirmationTag: []byte("tag")},
		"sender_data":       &SenderData{LeafIndex: 5, Generation: 6, ReuseGuard: [4]byte{1, 2, 3, 4}},
		"sender_data_aad":   &SenderDataAAD{GroupID: []byte("g"), Epoch: 1, ContentType: ContentTypeCommit},
		"content_aad":       &PrivateContentAAD{GroupID: []byte("g"), Epoch: 1, ContentType: ContentTypeApplication, AuthenticatedData: []byte("a")},
		"private_message":   &PrivateMessage{GroupID: []byte("g"), Epoch: 2, ContentType: ContentTypeProposal, AuthenticatedData: []byte("a"), EncryptedSenderData: []byte("esd"), Ciphertext: []byte("ct")},
		"confirmed_input":   &ConfirmedTranscriptHashInput{WireFormat: WireFormatPublicMessage, Content: sampleContent(ContentTypeCommit, Sender{SenderType: SenderTypeMember, LeafIndex: 1}), Signature: []byte("sig")},
		"group_secrets/ps":  &GroupSecrets{JoinerSecret: []byte("js"), PathSecret: &PathSecret{PathSecret: []byte("ps")}, PSKs: []PreSharedKeyID{samplePSK(false), samplePSK(true)}},
		"group_secrets/nil": &GroupSecrets{JoinerSecret: []byte("js"), PSKs: []PreSharedKeyID{}},
		"ratchet_tree": &RatchetTree{
			{NodeType: NodeTypeLeaf, Leaf: ptr(sampleLeaf(LeafNodeSourceCommit))},
			{NodeType: NodeTypeParent, Parent: &ParentNode{EncryptionKey: []byte("pk"), ParentHash: []byte("ph"), UnmergedLeaves: []uint32{2}}},
			nil, nil, {NodeType: NodeTypeLeaf, Leaf: ptr(sampleLeaf(LeafNodeSourceKeyPackage))},
		},
	}
	for i, p := range sampleProposals() {
		cases["proposal/"+string(rune('a'+i))] = ptr(p)
	}
	senders := map[string]Sender{
		"member":              {SenderType: SenderTypeMember, LeafIndex: 9},
		"external":            {SenderType: SenderTypeExternal, SenderIndex: 1},
		"new_member_proposal": {SenderType: SenderTypeNewMemberProposal},
		"new_member_commit":   {SenderType: SenderTypeNewMemberCommit},
	}
	for sname, s := range senders {
		for cname, ct := range map[string]ContentType{"application": ContentTypeApplication, "proposal": ContentTypeProposal, "commit": ContentTypeCommit} {
			auth := FramedContentAuthData{Signature: []byte("sig")}
			if ct == ContentTypeCommit {
				auth.ConfirmationTag = []byte("tag")
			}
			pm := &PublicMessage{Content: sampleContent(ct, s), Auth: auth}
			if s.SenderType == SenderTypeMember {
				pm.MembershipTag = []byte("mtag")
			}
			cases["public/"+sname+"/"+cname] = &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatPublicMessage, PublicMessage: pm}
			cases["authenticated/"+sname+"/"+cname] = &AuthenticatedContent{WireFormat: WireFormatPrivateMessage, Content: sampleContent(ct, s), Auth: auth}
		}
	}
	gi := &GroupInfo{GroupContext: sampleGroupContext(), Extensions: Extensions{{ExtensionType: ExtensionRatchetTree, ExtensionData: []byte{0}}},
		ConfirmationTag: []byte("tag"), Signer: 4, Signature: []byte("sig")}
	cases["message/group_info"] = &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatGroupInfo, GroupInfo: gi}
	cases["message/key_package"] = &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatKeyPackage, KeyPackage: ptr(sampleKeyPackage())}
	cases["message/welcome"] = &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatWelcome, Welcome: &Welcome{
		CipherSuite: 2, EncryptedGroupInfo: []byte("egi"),
		Secrets: []EncryptedGroupSecrets{{NewMember: []byte("ref"), EncryptedGroupSecrets: HPKECiphertext{KEMOutput: []byte("k"), Ciphertext: []byte("c")}}}}}
	cases["message/private"] = &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatPrivateMessage, PrivateMessage: &PrivateMessage{
		GroupID: []byte("g"), Epoch: 1, ContentType: ContentTypeApplication, AuthenticatedData: []byte{}, EncryptedSenderData: []byte("e"), Ciphertext: []byte("c")}}
	return cases
}

func ptr[T any](v T) *T { return &v }

func TestRoundTrip(t *testing.T) {
	for name, want := range roundTripCases() {
		t.Run(name, func(t *testing.T) {
			enc := codec.Marshal(want)
			got := reflect.New(reflect.TypeOf(want).Elem()).Interface().(codecValue)
			if err := codec.Unmarshal(enc, got); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decoded value differs:\n got %+v\nwant %+v", got, want)
			}
			if again := codec.Marshal(got); !bytes.Equal(again, enc) {
				t.Errorf("re-encoding differs:\n got %x\nwant %x", again, enc)
			}
		})
	}
}

func TestPrivateMessageContentRoundTrip(t *testing.T) {
	for _, ct := range []ContentType{ContentTypeApplication, ContentTypeProposal, ContentTypeCommit} {
		for _, pad := range []int{0, 1, 100} {
			fc := sampleContent(ct, Sender{SenderType: SenderTypeMember})
			want := PrivateMessageContent{ContentType: ct, ApplicationData: fc.ApplicationData, Proposal: fc.Proposal,
				Commit: fc.Commit, Auth: FramedContentAuthData{Signature: []byte("s")}, PaddingLen: pad}
			if ct == ContentTypeCommit {
				want.Auth.ConfirmationTag = []byte("t")
			}
			enc := codec.Marshal(want)
			got := PrivateMessageContent{ContentType: ct}
			if err := codec.Unmarshal(enc, &got); err != nil {
				t.Fatalf("ct %d pad %d: decode: %v", ct, pad, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ct %d pad %d: got %+v want %+v", ct, pad, got, want)
			}
		}
	}
}
