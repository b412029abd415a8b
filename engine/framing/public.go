package framing

import (
	"bytes"
	"crypto/hmac"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// SignatureLabel is the SignWithLabel label of FramedContentTBS.
const SignatureLabel = "FramedContentTBS"

// tbs encodes the FramedContentTBS of content sent in wire format wf.
func tbs(wf wire.WireFormat, content *wire.FramedContent, gc *wire.GroupContext) ([]byte, error) {
	if err := checkContext(content, gc); err != nil {
		return nil, err
	}
	return codec.MarshalSize(wire.FramedContentTBS{WireFormat: wf, Content: content, Context: gc}, tbsSizeHint(content, gc)), nil
}

// checkContext fails if the sender of content signs the group context and
// gc is nil.
func checkContext(content *wire.FramedContent, gc *wire.GroupContext) error {
	if content.Sender.SignsGroupContext() && gc == nil {
		return fmt.Errorf("%w: group context required for sender type %d", ErrMalformed, content.Sender.SenderType)
	}
	return nil
}

// contextLen returns the length of the group context in the
// FramedContentTBS of c: gc's encoding, or nothing for senders that do not
// sign it.
func contextLen(c *wire.FramedContent, gc *wire.GroupContext) int {
	if c.Sender.SignsGroupContext() && gc != nil {
		return gc.EncodedLen()
	}
	return 0
}

// tbsSizeHint bounds the encoded length of a FramedContentTBS whose
// content carries application data (proposals and commits are not
// estimated: their buffer grows as needed).
func tbsSizeHint(c *wire.FramedContent, gc *wire.GroupContext) int {
	return 4 + codec.OpaqueLen(c.GroupID) + 8 + 9 + codec.OpaqueLen(c.AuthenticatedData) + 1 + codec.OpaqueLen(c.ApplicationData) + contextLen(c, gc)
}

// encodedContent returns the encoding of ac.Content: ac.RawContent if set.
func encodedContent(ac *wire.AuthenticatedContent) []byte {
	if ac.RawContent != nil {
		return ac.RawContent
	}
	return codec.Marshal(ac.Content)
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
	// FramedContentTBS is the version and wire format, the content, then
	// the context.
	raw := b[4 : len(b)-contextLen(content, gc)]
	return &wire.AuthenticatedContent{WireFormat: wf, Content: *content, Auth: wire.FramedContentAuthData{Signature: sig},
		RawContent: raw[:len(raw):len(raw)]}, nil
}

// VerifySignature verifies the signature of ac with the sender's signature
// public key; gc is the group context of the message's epoch. A signature
// that does not verify returns an error wrapping [ErrBadSignature]. The
// FramedContentTBS is built once, from ac.RawContent if set, with room for
// the SignContent header in front of it.
func VerifySignature(s *suite.Suite, sigPub []byte, ac *wire.AuthenticatedContent, gc *wire.GroupContext) error {
	if err := checkContext(&ac.Content, gc); err != nil {
		return fmt.Errorf("verify signature: %w", err)
	}
	room := suite.SignContentRoom(SignatureLabel)
	size := tbsSizeHint(&ac.Content, gc)
	if ac.RawContent != nil {
		size = 4 + len(ac.RawContent) + contextLen(&ac.Content, gc)
	}
	b := codec.Append(make([]byte, room, room+size), wire.FramedContentTBS{WireFormat: ac.WireFormat, Content: &ac.Content, Context: gc, RawContent: ac.RawContent})
	if err := s.VerifyWithLabelInPlace(sigPub, SignatureLabel, b, ac.Auth.Signature); err != nil {
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

// membershipTag returns MAC(membershipKey, AuthenticatedContentTBM)
// (RFC 9420 §6.2). The input is MACed in three parts, so that the content
// (ac.RawContent if set) is neither encoded again nor copied:
// FramedContentTBS up to the content (version and wire format), the
// content, then the context and the auth data.
func membershipTag(s *suite.Suite, membershipKey []byte, ac *wire.AuthenticatedContent, gc *wire.GroupContext) []byte {
	v, wf := wire.ProtocolVersionMLS10, ac.WireFormat
	head := [4]byte{byte(v >> 8), byte(v), byte(wf >> 8), byte(wf)}
	w := codec.NewWriter(make([]byte, 0, contextLen(&ac.Content, gc)+codec.OpaqueLen(ac.Auth.Signature)+codec.OpaqueLen(ac.Auth.ConfirmationTag)))
	if ac.Content.Sender.SignsGroupContext() && gc != nil {
		gc.MarshalTLS(w)
	}
	ac.Auth.MarshalFor(w, ac.Content.ContentType)
	return s.MAC(membershipKey, head[:], encodedContent(ac), w.Bytes())
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
		pm.MembershipTag = membershipTag(s, membershipKey, ac, gc)
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
		!hmac.Equal(membershipTag(s, membershipKey, ac, gc), pm.MembershipTag) {
		return nil, fmt.Errorf("unprotect public message: %w", ErrBadMembershipTag)
	}
	return ac, nil
}
