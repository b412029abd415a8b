package wire

import "github.com/mlsbackup/mlsbackup/engine/codec"

// Sender identifies the sender of a message (RFC 9420 §6). LeafIndex is
// used for member senders, SenderIndex (an index into external_senders) for
// external senders.
type Sender struct {
	SenderType  SenderType
	LeafIndex   uint32
	SenderIndex uint32
}

// MarshalTLS implements [codec.Marshaler].
func (s Sender) MarshalTLS(w *codec.Writer) {
	w.Uint8(uint8(s.SenderType))
	switch s.SenderType {
	case SenderTypeMember:
		w.Uint32(s.LeafIndex)
	case SenderTypeExternal:
		w.Uint32(s.SenderIndex)
	}
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (s *Sender) UnmarshalTLS(r *codec.Reader) {
	*s = Sender{SenderType: SenderType(r.Uint8())}
	if r.Err() != nil {
		return
	}
	switch s.SenderType {
	case SenderTypeMember:
		s.LeafIndex = r.Uint32()
	case SenderTypeExternal:
		s.SenderIndex = r.Uint32()
	case SenderTypeNewMemberProposal, SenderTypeNewMemberCommit:
	default:
		invalid(r, "sender type %d", s.SenderType)
	}
}

// SignsGroupContext reports whether content from this sender signs the
// group context with it: FramedContentTBS includes the context for member
// and new_member_commit senders only (RFC 9420 §6.1).
func (s Sender) SignsGroupContext() bool {
	return s.SenderType == SenderTypeMember || s.SenderType == SenderTypeNewMemberCommit
}

// FramedContent is the content of a PublicMessage or PrivateMessage
// (RFC 9420 §6). The field matching ContentType is set: ApplicationData,
// Proposal or Commit.
type FramedContent struct {
	GroupID           []byte
	Epoch             uint64
	Sender            Sender
	AuthenticatedData []byte
	ContentType       ContentType
	ApplicationData   []byte
	Proposal          *Proposal
	Commit            *Commit
}

// marshalContentBody writes the select (content_type) part shared by
// FramedContent and PrivateMessageContent. Proposals and commits are
// written through [codec.Writer.Nested], so that encoding application data
// keeps w on its caller's stack.
func marshalContentBody(w *codec.Writer, ct ContentType, app []byte, p *Proposal, c *Commit) {
	switch ct {
	case ContentTypeApplication:
		w.Opaque(app)
	case ContentTypeProposal:
		if p != nil {
			w.Nested(p)
		}
	case ContentTypeCommit:
		if c != nil {
			w.Nested(c)
		}
	}
}

// unmarshalContentBody reads the select (content_type) part.
func unmarshalContentBody(r *codec.Reader, ct ContentType) (app []byte, p *Proposal, c *Commit) {
	switch ct {
	case ContentTypeApplication:
		app = r.Opaque()
	case ContentTypeProposal:
		p = new(Proposal)
		p.UnmarshalTLS(r)
	case ContentTypeCommit:
		c = new(Commit)
		c.UnmarshalTLS(r)
	default:
		invalid(r, "content type %d", ct)
	}
	return app, p, c
}

// MarshalTLS implements [codec.Marshaler].
func (f FramedContent) MarshalTLS(w *codec.Writer) {
	w.Opaque(f.GroupID)
	w.Uint64(f.Epoch)
	f.Sender.MarshalTLS(w)
	w.Opaque(f.AuthenticatedData)
	w.Uint8(uint8(f.ContentType))
	marshalContentBody(w, f.ContentType, f.ApplicationData, f.Proposal, f.Commit)
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (f *FramedContent) UnmarshalTLS(r *codec.Reader) {
	*f = FramedContent{}
	f.GroupID = r.Opaque()
	f.Epoch = r.Uint64()
	f.Sender.UnmarshalTLS(r)
	f.AuthenticatedData = r.Opaque()
	f.ContentType = ContentType(r.Uint8())
	if r.Err() != nil {
		return
	}
	f.ApplicationData, f.Proposal, f.Commit = unmarshalContentBody(r, f.ContentType)
}

// FramedContentAuthData authenticates a [FramedContent] (RFC 9420 §6.1).
// ConfirmationTag is present only for commits, so its encoding depends on the
// content type, passed to [FramedContentAuthData.MarshalFor] and
// [FramedContentAuthData.UnmarshalFor].
type FramedContentAuthData struct {
	Signature       []byte
	ConfirmationTag []byte
}

// MarshalFor writes the auth data of content of type ct.
func (a *FramedContentAuthData) MarshalFor(w *codec.Writer, ct ContentType) {
	w.Opaque(a.Signature)
	if ct == ContentTypeCommit {
		w.Opaque(a.ConfirmationTag)
	}
}

// UnmarshalFor reads the auth data of content of type ct.
func (a *FramedContentAuthData) UnmarshalFor(r *codec.Reader, ct ContentType) {
	a.Signature = r.Opaque()
	a.ConfirmationTag = nil
	if ct == ContentTypeCommit {
		a.ConfirmationTag = r.Opaque()
	}
}

// FramedContentTBS is the content signed with label "FramedContentTBS"
// (RFC 9420 §6.1). Context must be set for member and new_member_commit
// senders and is ignored otherwise. RawContent, if not nil, is the
// encoding of Content (see [AuthenticatedContent.RawContent]) and is
// written in its place. It is only ever encoded.
type FramedContentTBS struct {
	WireFormat WireFormat
	Content    *FramedContent
	Context    *GroupContext
	RawContent []byte
}

// MarshalTLS implements [codec.Marshaler].
func (t FramedContentTBS) MarshalTLS(w *codec.Writer) {
	w.Uint16(uint16(ProtocolVersionMLS10))
	w.Uint16(uint16(t.WireFormat))
	if t.RawContent != nil {
		w.Raw(t.RawContent)
	} else {
		t.Content.MarshalTLS(w)
	}
	if t.Content.Sender.SignsGroupContext() && t.Context != nil {
		t.Context.MarshalTLS(w)
	}
}

// AuthenticatedContent is a [FramedContent] with its auth data and the wire
// format it travels in (RFC 9420 §6). Its encoding is the input of proposal
// references and of the confirmed transcript hash.
//
// RawContent, if not nil, is the encoding of Content: the bytes a received
// PublicMessage carried it in (see [PublicMessage.RawContent]) or the
// encoding its signer signed. The signature, membership tag and transcript
// hash inputs are built from it instead of encoding Content again (a commit
// with its path is ~100 KB in a group of 1000). The decoders accept only
// canonical encodings, so it equals the encoding of Content as long as
// Content is not changed: code that changes Content must set it to nil.
// The encoders ignore it.
type AuthenticatedContent struct {
	WireFormat WireFormat
	Content    FramedContent
	Auth       FramedContentAuthData
	RawContent []byte
}

// MarshalTLS implements [codec.Marshaler].
func (a AuthenticatedContent) MarshalTLS(w *codec.Writer) {
	w.Uint16(uint16(a.WireFormat))
	a.Content.MarshalTLS(w)
	a.Auth.MarshalFor(w, a.Content.ContentType)
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (a *AuthenticatedContent) UnmarshalTLS(r *codec.Reader) {
	a.WireFormat = WireFormat(r.Uint16())
	a.Content.UnmarshalTLS(r)
	if r.Err() != nil {
		return
	}
	a.Auth.UnmarshalFor(r, a.Content.ContentType)
}

// AuthenticatedContentTBM is the input of the membership tag MAC
// (RFC 9420 §6.2). It is only ever encoded.
type AuthenticatedContentTBM struct {
	ContentTBS FramedContentTBS
	Auth       *FramedContentAuthData
}

// MarshalTLS implements [codec.Marshaler].
func (t AuthenticatedContentTBM) MarshalTLS(w *codec.Writer) {
	t.ContentTBS.MarshalTLS(w)
	t.Auth.MarshalFor(w, t.ContentTBS.Content.ContentType)
}

// PublicMessage is a signed, unencrypted message (RFC 9420 §6.2).
// MembershipTag is present only for member senders. RawContent is the
// slice of the input Content was decoded from, set by [ParseMLSMessage]
// (not by UnmarshalTLS) and nil otherwise; the same rules as for
// [AuthenticatedContent.RawContent] apply.
type PublicMessage struct {
	Content       FramedContent
	Auth          FramedContentAuthData
	MembershipTag []byte
	RawContent    []byte
}

// MarshalTLS implements [codec.Marshaler].
func (p PublicMessage) MarshalTLS(w *codec.Writer) {
	p.Content.MarshalTLS(w)
	p.Auth.MarshalFor(w, p.Content.ContentType)
	if p.Content.Sender.SenderType == SenderTypeMember {
		w.Opaque(p.MembershipTag)
	}
}

// UnmarshalTLS implements [codec.Unmarshaler]. It leaves RawContent nil.
func (p *PublicMessage) UnmarshalTLS(r *codec.Reader) { p.unmarshal(r, false) }

// unmarshal is UnmarshalTLS; it sets RawContent if raw is set.
func (p *PublicMessage) unmarshal(r *codec.Reader, raw bool) {
	start := r.Offset()
	p.RawContent = nil
	p.Content.UnmarshalTLS(r)
	if r.Err() != nil {
		return
	}
	if raw {
		p.RawContent = r.Since(start)
	}
	p.Auth.UnmarshalFor(r, p.Content.ContentType)
	p.MembershipTag = nil
	if p.Content.Sender.SenderType == SenderTypeMember {
		p.MembershipTag = r.Opaque()
	}
}

// AuthenticatedContent returns the message's content and auth data with the
// public-message wire format, and its RawContent.
func (p *PublicMessage) AuthenticatedContent() *AuthenticatedContent {
	return &AuthenticatedContent{WireFormat: WireFormatPublicMessage, Content: p.Content, Auth: p.Auth, RawContent: p.RawContent}
}
