package engine

import (
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/framing"
	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
	"github.com/mlsbackup/mlsbackup/engine/secrettree"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

type messageProtectionVector struct {
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

// contentBytes returns the encoded proposal, commit or application data of
// authenticated content.
func contentBytes(ac *wire.AuthenticatedContent) []byte {
	switch ac.Content.ContentType {
	case wire.ContentTypeProposal:
		return codec.Marshal(*ac.Content.Proposal)
	case wire.ContentTypeCommit:
		return codec.Marshal(*ac.Content.Commit)
	}
	return ac.Content.ApplicationData
}

func parseMessage(b []byte) (*wire.MLSMessage, error) {
	var m wire.MLSMessage
	if err := codec.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

func checkMessageProtection(v *messageProtectionVector) error {
	cs, err := suite.New(suite.ID(v.CipherSuite))
	if err != nil {
		return err
	}
	gc := &wire.GroupContext{Version: wire.ProtocolVersionMLS10, CipherSuite: wire.CipherSuite(v.CipherSuite), GroupID: v.GroupID,
		Epoch: v.Epoch, TreeHash: v.TreeHash, ConfirmedTranscriptHash: v.ConfirmedTranscriptHash, Extensions: wire.Extensions{}}
	newTree := func() (*secrettree.Tree, error) {
		return secrettree.New(cs, v.EncryptionSecret, 2, secrettree.DefaultConfig())
	}
	openPublic := func(b []byte) (*wire.AuthenticatedContent, error) {
		m, err := parseMessage(b)
		if err != nil || m.PublicMessage == nil {
			return nil, fmt.Errorf("not a public message: %v", err)
		}
		ac, err := framing.UnprotectPublic(cs, v.MembershipKey, m.PublicMessage, gc)
		if err != nil {
			return nil, err
		}
		return ac, framing.VerifySignature(cs, v.SignaturePub, ac, gc)
	}
	openPrivate := func(b []byte) (*wire.AuthenticatedContent, error) {
		m, err := parseMessage(b)
		if err != nil || m.PrivateMessage == nil {
			return nil, fmt.Errorf("not a private message: %v", err)
		}
		st, err := newTree()
		if err != nil {
			return nil, err
		}
		ac, _, err := framing.UnprotectPrivate(cs, v.SenderDataSecret, m.PrivateMessage, gc, framing.TreeKeys(st))
		if err != nil {
			return nil, err
		}
		return ac, framing.VerifySignature(cs, v.SignaturePub, ac, gc)
	}
	for _, it := range []struct {
		name      string
		ct        wire.ContentType
		raw       []byte
		pub, priv []byte
	}{
		{"proposal", wire.ContentTypeProposal, v.Proposal, v.ProposalPub, v.ProposalPriv},
		{"commit", wire.ContentTypeCommit, v.Commit, v.CommitPub, v.CommitPriv},
		{"application", wire.ContentTypeApplication, v.Application, nil, v.ApplicationPriv},
	} {
		content := &wire.FramedContent{GroupID: v.GroupID, Epoch: v.Epoch, Sender: wire.Sender{SenderType: wire.SenderTypeMember, LeafIndex: 1},
			AuthenticatedData: []byte{}, ContentType: it.ct}
		switch it.ct {
		case wire.ContentTypeProposal:
			content.Proposal = new(wire.Proposal)
			err = codec.Unmarshal(it.raw, content.Proposal)
		case wire.ContentTypeCommit:
			content.Commit = new(wire.Commit)
			err = codec.Unmarshal(it.raw, content.Commit)
		default:
			content.ApplicationData = it.raw
		}
		if err != nil {
			return fmt.Errorf("%s: decode raw: %w", it.name, err)
		}
		// Public: the vector's message, and our own.
		var pm *wire.PublicMessage
		pubAC, perr := framing.Sign(cs, v.SignaturePriv, wire.WireFormatPublicMessage, content, gc)
		if perr == nil {
			if it.ct == wire.ContentTypeCommit {
				pubAC.Auth.ConfirmationTag = make([]byte, cs.Nh())
			}
			pm, perr = framing.ProtectPublic(cs, v.MembershipKey, pubAC, gc)
		}
		if it.pub == nil {
			if perr == nil {
				return fmt.Errorf("%s: protecting as a public message succeeded", it.name)
			}
		} else {
			ac, err := openPublic(it.pub)
			if err != nil {
				return fmt.Errorf("%s: vector public message: %w", it.name, err)
			}
			if err := eq(it.name+" public content", contentBytes(ac), it.raw); err != nil {
				return err
			}
			if perr != nil {
				return fmt.Errorf("%s: protect public: %w", it.name, perr)
			}
			own := codec.Marshal(wire.MLSMessage{Version: wire.ProtocolVersionMLS10, WireFormat: wire.WireFormatPublicMessage, PublicMessage: pm})
			if ac, err = openPublic(own); err != nil {
				return fmt.Errorf("%s: own public message: %w", it.name, err)
			}
			if err := eq(it.name+" own public content", contentBytes(ac), it.raw); err != nil {
				return err
			}
		}
		// Private: the vector's message, and our own.
		ac, err := openPrivate(it.priv)
		if err != nil {
			return fmt.Errorf("%s: vector private message: %w", it.name, err)
		}
		if err := eq(it.name+" private content", contentBytes(ac), it.raw); err != nil {
			return err
		}
		privAC, err := framing.Sign(cs, v.SignaturePriv, wire.WireFormatPrivateMessage, content, gc)
		if err != nil {
			return fmt.Errorf("%s: sign: %w", it.name, err)
		}
		if it.ct == wire.ContentTypeCommit {
			privAC.Auth.ConfirmationTag = make([]byte, cs.Nh())
		}
		st, err := newTree()
		if err != nil {
			return err
		}
		secret, err := framing.NextSecret(st, 1, it.ct)
		if err != nil {
			return err
		}
		prm, err := framing.ProtectPrivate(cs, v.SenderDataSecret, privAC, secret, 0, rand.Reader)
		if err != nil {
			return fmt.Errorf("%s: protect private: %w", it.name, err)
		}
		own := codec.Marshal(wire.MLSMessage{Version: wire.ProtocolVersionMLS10, WireFormat: wire.WireFormatPrivateMessage, PrivateMessage: prm})
		if ac, err = openPrivate(own); err != nil {
			return fmt.Errorf("%s: own private message: %w", it.name, err)
		}
		if err := eq(it.name+" own private content", contentBytes(ac), it.raw); err != nil {
			return err
		}
	}
	return nil
}

type transcriptHashesVector struct {
	CipherSuite                  uint16      `json:"cipher_suite"`
	ConfirmationKey              vectors.Hex `json:"confirmation_key"`
	AuthenticatedContent         vectors.Hex `json:"authenticated_content"`
	InterimTranscriptHashBefore  vectors.Hex `json:"interim_transcript_hash_before"`
	ConfirmedTranscriptHashAfter vectors.Hex `json:"confirmed_transcript_hash_after"`
	InterimTranscriptHashAfter   vectors.Hex `json:"interim_transcript_hash_after"`
}

func checkTranscriptHashes(v *transcriptHashesVector) error {
	cs, err := suite.New(suite.ID(v.CipherSuite))
	if err != nil {
		return err
	}
	var ac wire.AuthenticatedContent
	if err := codec.Unmarshal(v.AuthenticatedContent, &ac); err != nil {
		return err
	}
	if ac.Content.Commit == nil {
		return errors.New("authenticated content is not a commit")
	}
	if err := framing.VerifyConfirmationTag(cs, v.ConfirmationKey, v.ConfirmedTranscriptHashAfter, ac.Auth.ConfirmationTag); err != nil {
		return err
	}
	confirmed, interim, err := framing.TranscriptHashes(cs, v.InterimTranscriptHashBefore, &ac)
	if err != nil {
		return err
	}
	return firstErr(eq("confirmed transcript hash", confirmed, v.ConfirmedTranscriptHashAfter),
		eq("interim transcript hash", interim, v.InterimTranscriptHashAfter))
}

type messagesVector struct {
	MLSWelcome                     vectors.Hex `json:"mls_welcome"`
	MLSGroupInfo                   vectors.Hex `json:"mls_group_info"`
	MLSKeyPackage                  vectors.Hex `json:"mls_key_package"`
	RatchetTree                    vectors.Hex `json:"ratchet_tree"`
	GroupSecrets                   vectors.Hex `json:"group_secrets"`
	AddProposal                    vectors.Hex `json:"add_proposal"`
	UpdateProposal                 vectors.Hex `json:"update_proposal"`
	RemoveProposal                 vectors.Hex `json:"remove_proposal"`
	PreSharedKeyProposal           vectors.Hex `json:"pre_shared_key_proposal"`
	ReInitProposal                 vectors.Hex `json:"re_init_proposal"`
	ExternalInitProposal           vectors.Hex `json:"external_init_proposal"`
	GroupContextExtensionsProposal vectors.Hex `json:"group_context_extensions_proposal"`
	Commit                         vectors.Hex `json:"commit"`
	PublicMessageApplication       vectors.Hex `json:"public_message_application"`
	PublicMessageProposal          vectors.Hex `json:"public_message_proposal"`
	PublicMessageCommit            vectors.Hex `json:"public_message_commit"`
	PrivateMessage                 vectors.Hex `json:"private_message"`
}

type roundTripper interface {
	codec.Marshaler
	codec.Unmarshaler
}

func checkMessages(v *messagesVector) error {
	for _, c := range []struct {
		name string
		data []byte
		v    roundTripper
		wf   wire.WireFormat
	}{
		{"mls_welcome", v.MLSWelcome, new(wire.MLSMessage), wire.WireFormatWelcome},
		{"mls_group_info", v.MLSGroupInfo, new(wire.MLSMessage), wire.WireFormatGroupInfo},
		{"mls_key_package", v.MLSKeyPackage, new(wire.MLSMessage), wire.WireFormatKeyPackage},
		{"ratchet_tree", v.RatchetTree, new(wire.RatchetTree), 0},
		{"group_secrets", v.GroupSecrets, new(wire.GroupSecrets), 0},
		{"add_proposal", v.AddProposal, new(wire.Add), 0},
		{"update_proposal", v.UpdateProposal, new(wire.Update), 0},
		{"remove_proposal", v.RemoveProposal, new(wire.Remove), 0},
		{"pre_shared_key_proposal", v.PreSharedKeyProposal, new(wire.PreSharedKey), 0},
		{"re_init_proposal", v.ReInitProposal, new(wire.ReInit), 0},
		{"external_init_proposal", v.ExternalInitProposal, new(wire.ExternalInit), 0},
		{"group_context_extensions_proposal", v.GroupContextExtensionsProposal, new(wire.GroupContextExtensions), 0},
		{"commit", v.Commit, new(wire.Commit), 0},
		{"public_message_application", v.PublicMessageApplication, new(wire.MLSMessage), wire.WireFormatPublicMessage},
		{"public_message_proposal", v.PublicMessageProposal, new(wire.MLSMessage), wire.WireFormatPublicMessage},
		{"public_message_commit", v.PublicMessageCommit, new(wire.MLSMessage), wire.WireFormatPublicMessage},
		{"private_message", v.PrivateMessage, new(wire.MLSMessage), wire.WireFormatPrivateMessage},
	} {
		if err := codec.Unmarshal(c.data, c.v); err != nil {
			return fmt.Errorf("%s: decode: %w", c.name, err)
		}
		if m, ok := c.v.(*wire.MLSMessage); ok && m.WireFormat != c.wf {
			return fmt.Errorf("%s: wire format %d, want %d", c.name, m.WireFormat, c.wf)
		}
		if err := eq(c.name+" re-encoded", codec.Marshal(c.v), c.data); err != nil {
			return err
		}
	}
	return nil
}
