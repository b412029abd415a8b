package framing

import (
	"bytes"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// SignatureLabel is the SignWithLabel label of FramedContentTBS.
const SignatureLabel = "FramedContentTBS"

// tbs encodes the FramedContentTBS of content sent in wire format wf.
func tbs(wf wire.WireFormat, content *wire.FramedContent, gc *wire.GroupContext) ([]byte, error) {
	switch content.Sender.SenderType {
	case wire.SenderTypeMember, wire.SenderTypeNewMemberCommit:
		if gc == nil {
			return nil, fmt.Errorf("%w: group context required for sender type %d", ErrMalformed, content.Sender.SenderType)
		}
	}
	return codec.MarshalSize(wire.FramedContentTBS{WireFormat: wf, Content: content, Context: gc}, tbsSizeHint(content, gc)), nil
}

// tbsSizeHint bounds the encoded length of a FramedContentTBS whose
// content carries application data (proposals and commits are not
// estimated: their buffer grows as needed).
func tbsSizeHint(c *wire.FramedContent, gc *wire.GroupContext) int {
	n := 4 + codec.OpaqueLen(c.GroupID) + 8 + 9 + codec.OpaqueLen(c.AuthenticatedData) + 1 + codec.OpaqueLen(c.ApplicationData)
	if gc != nil {
		n += 4 + codec.OpaqueLen(gc.GroupID) + 8 + codec.OpaqueLen(gc.TreeHash) + codec.OpaqueLen(gc.ConfirmedTranscriptHash) + 4
		for _, e := range gc.Extensions {
			n += 2 + codec.OpaqueLen(e.ExtensionData)
		}
	}
	return n
}

// Sign signs content for wire format wf with the sender's signature private
// key and returns the authenticated content (RFC 9420 §6.1). gc is the
// current group context; it is required for member and new_member_commit
// senders. For a commit the caller sets Auth.ConfirmationTag afterwards.
func Sign(s *suite.Suite, sigPriv []byte, wf wire.WireFormat, content *wire.FramedContent, gc *wire.GroupContext) (*wire.AuthenticatedContent, error) {
	if err := checkSender(wf, content); err != nil {
		return nil, fmt.Errorf("sign content: %w", err)
	}
	b, err := tbs(wf, content, gc)
	if err != nil {
		return nil, fmt.Errorf("sign content: %w", err)
	}
	sig, err := s.SignWithLabel(sigPriv, SignatureLabel, b)
	if err != nil {
		return nil, fmt.Errorf("sign content: %w", err)
	}
	return &wire.AuthenticatedContent{WireFormat: wf, Content: *content, Auth: wire.FramedContentAuthData{Signature: sig}}, nil
}

// VerifySignature verifies the signature of ac with the sender's signature
// public key; gc is the group context of the message's epoch. A signature
// that does not verify returns an error wrapping [ErrBadSignature].
func VerifySignature(s *suite.Suite, sigPub []byte, ac *wire.AuthenticatedContent, gc *wire.GroupContext) error {
	b, err := tbs(ac.WireFormat, &ac.Content, gc)
	if err != nil {
		return fmt.Errorf("verify signature: %w", err)
	}
	if err := s.VerifyWithLabel(sigPub, SignatureLabel, b, ac.Auth.Signature); err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	return nil
}

// checkSender enforces which sender and content types each wire format
// carries (RFC 9420 §6, §6.2, §6.3).
func checkSender(wf wire.WireFormat, c *wire.FramedContent) error {
	st, ct := c.Sender.SenderType, c.ContentType
	switch wf {
	case wire.WireFormatPublicMessage:
		if ct == wire.ContentTypeApplication {
			return fmt.Errorf("%w: application data in a public message", ErrNotAllowed)
		}
	case wire.WireFormatPrivateMessage:
		if st != wire.SenderTypeMember {
			return fmt.Errorf("%w: sender type %d in a private message", ErrNotAllowed, st)
		}
	default:
		return fmt.Errorf("%w: wire format %d", ErrNotAllowed, wf)
	}
	switch {
	case st == wire.SenderTypeExternal && ct != wire.ContentTypeProposal,
		st == wire.SenderTypeNewMemberProposal && ct != wire.ContentTypeProposal,
		st == wire.SenderTypeNewMemberCommit && ct != wire.ContentTypeCommit:
		return fmt.Errorf("%w: content type %d from sender type %d", ErrNotAllowed, ct, st)
	}
	return nil
}

// checkAuth checks that the confirmation tag is present exactly for commits.
func checkAuth(ac *wire.AuthenticatedContent) error {
	if ac.Content.ContentType == wire.ContentTypeCommit && len(ac.Auth.ConfirmationTag) == 0 {
		return fmt.Errorf("%w: commit without confirmation tag", ErrMalformed)
	}
	return nil
}

// checkGroup checks the group id and epoch of a message against gc.
func checkGroup(groupID []byte, epoch uint64, gc *wire.GroupContext) error {
	if !bytes.Equal(groupID, gc.GroupID) {
		return ErrWrongGroup
	}
	if epoch != gc.Epoch {
		return fmt.Errorf("%w: message epoch %d, group epoch %d", ErrWrongEpoch, epoch, gc.Epoch)
	}
	return nil
}

// membershipTagInput encodes AuthenticatedContentTBM.
func membershipTagInput(ac *wire.AuthenticatedContent, gc *wire.GroupContext) []byte {
	return codec.Marshal(wire.AuthenticatedContentTBM{
		ContentTBS: wire.FramedContentTBS{WireFormat: ac.WireFormat, Content: &ac.Content, Context: gc},
		Auth:       &ac.Auth,
	})
}

// ProtectPublic frames signed content as a PublicMessage (RFC 9420 §6.2),
// adding the membership tag MAC(membershipKey, AuthenticatedContentTBM) for
// member senders. ac must have the public-message wire format and may not
// carry application data; a commit must have its confirmation tag.
func ProtectPublic(s *suite.Suite, membershipKey []byte, ac *wire.AuthenticatedContent, gc *wire.GroupContext) (*wire.PublicMessage, error) {
	if ac.WireFormat != wire.WireFormatPublicMessage {
		return nil, fmt.Errorf("protect public message: %w: wire format %d", ErrNotAllowed, ac.WireFormat)
	}
	if err := checkSender(ac.WireFormat, &ac.Content); err != nil {
		return nil, fmt.Errorf("protect public message: %w", err)
	}
	if err := checkAuth(ac); err != nil {
		return nil, fmt.Errorf("protect public message: %w", err)
	}
	pm := &wire.PublicMessage{Content: ac.Content, Auth: ac.Auth}
	if ac.Content.Sender.SenderType == wire.SenderTypeMember {
		pm.MembershipTag = s.MAC(membershipKey, membershipTagInput(ac, gc))
	}
	return pm, nil
}

// UnprotectPublic checks a received PublicMessage against the group context
// gc of the current epoch and the epoch's membership key, and returns its
// authenticated content. It checks the group and epoch, the allowed
// sender/content combinations, the presence of the confirmation tag and,
// for member senders, the membership tag. The caller must still verify the
// signature with [VerifySignature] (and, for commits, the confirmation tag).
func UnprotectPublic(s *suite.Suite, membershipKey []byte, pm *wire.PublicMessage, gc *wire.GroupContext) (*wire.AuthenticatedContent, error) {
	if err := checkGroup(pm.Content.GroupID, pm.Content.Epoch, gc); err != nil {
		return nil, fmt.Errorf("unprotect public message: %w", err)
	}
	ac := pm.AuthenticatedContent()
	if err := checkSender(ac.WireFormat, &ac.Content); err != nil {
		return nil, fmt.Errorf("unprotect public message: %w", err)
	}
	if err := checkAuth(ac); err != nil {
		return nil, fmt.Errorf("unprotect public message: %w", err)
	}
	if ac.Content.Sender.SenderType == wire.SenderTypeMember &&
		!s.VerifyMAC(membershipKey, membershipTagInput(ac, gc), pm.MembershipTag) {
		return nil, fmt.Errorf("unprotect public message: %w", ErrBadMembershipTag)
	}
	return ac, nil
}
