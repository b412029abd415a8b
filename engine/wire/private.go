package wire

import "github.com/mlsbackup/mlsbackup/engine/codec"

// PrivateMessage is an encrypted message (RFC 9420 §6.3).
type PrivateMessage struct {
	GroupID             []byte
	Epoch               uint64
	ContentType         ContentType
	AuthenticatedData   []byte
	EncryptedSenderData []byte
	Ciphertext          []byte
}

// MarshalTLS implements [codec.Marshaler].
func (p PrivateMessage) MarshalTLS(w *codec.Writer) {
	w.Opaque(p.GroupID)
	w.Uint64(p.Epoch)
	w.Uint8(uint8(p.ContentType))
	w.Opaque(p.AuthenticatedData)
	w.Opaque(p.EncryptedSenderData)
	w.Opaque(p.Ciphertext)
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (p *PrivateMessage) UnmarshalTLS(r *codec.Reader) {
	p.GroupID = r.Opaque()
	p.Epoch = r.Uint64()
	p.ContentType = ContentType(r.Uint8())
	if r.Err() == nil && !p.ContentType.valid() {
		invalid(r, "content type %d", p.ContentType)
		return
	}
	p.AuthenticatedData = r.Opaque()
	p.EncryptedSenderData = r.Opaque()
	p.Ciphertext = r.Opaque()
}

// EncodedLen returns the length of p's encoding.
func (p *PrivateMessage) EncodedLen() int {
	return codec.OpaqueLen(p.GroupID) + 8 + 1 + codec.OpaqueLen(p.AuthenticatedData) +
		codec.OpaqueLen(p.EncryptedSenderData) + codec.OpaqueLen(p.Ciphertext)
}

// PrivateMessageContent is the plaintext of a [PrivateMessage]
// (RFC 9420 §6.3.1). ContentType is not encoded: it comes from the
// enclosing PrivateMessage and must be set before decoding. Padding is
// PaddingLen zero bytes; the decoder rejects any non-zero padding byte.
type PrivateMessageContent struct {
	ContentType     ContentType
	ApplicationData []byte
	Proposal        *Proposal
	Commit          *Commit
	Auth            FramedContentAuthData
	PaddingLen      int
}

// MarshalTLS implements [codec.Marshaler].
func (p PrivateMessageContent) MarshalTLS(w *codec.Writer) {
	marshalContentBody(w, p.ContentType, p.ApplicationData, p.Proposal, p.Commit)
	p.Auth.MarshalFor(w, p.ContentType)
	w.Zeros(p.PaddingLen)
}

// UnmarshalTLS implements [codec.Unmarshaler]. The padding extends to the end
// of the input, so it consumes everything left in r.
func (p *PrivateMessageContent) UnmarshalTLS(r *codec.Reader) {
	ct := p.ContentType
	*p = PrivateMessageContent{ContentType: ct}
	p.ApplicationData, p.Proposal, p.Commit = unmarshalContentBody(r, ct)
	p.Auth.UnmarshalFor(r, ct)
	if r.Err() != nil {
		return
	}
	pad := r.Raw(r.Remaining())
	for _, b := range pad {
		if b != 0 {
			invalid(r, "non-zero padding")
			return
		}
	}
	p.PaddingLen = len(pad)
}

// FramedContent rebuilds the framed content of a decrypted private message
// from the enclosing message and the decrypted sender.
func (p *PrivateMessageContent) FramedContent(msg *PrivateMessage, sender Sender) FramedContent {
	return FramedContent{
		GroupID:           msg.GroupID,
		Epoch:             msg.Epoch,
		Sender:            sender,
		AuthenticatedData: msg.AuthenticatedData,
		ContentType:       p.ContentType,
		ApplicationData:   p.ApplicationData,
		Proposal:          p.Proposal,
		Commit:            p.Commit,
	}
}

// PrivateContentAAD is the AEAD associated data of the content
// encryption (RFC 9420 §6.3.1).
type PrivateContentAAD struct {
	GroupID           []byte
	Epoch             uint64
	ContentType       ContentType
	AuthenticatedData []byte
}

// MarshalTLS implements [codec.Marshaler].
func (a PrivateContentAAD) MarshalTLS(w *codec.Writer) {
	w.Opaque(a.GroupID)
	w.Uint64(a.Epoch)
	w.Uint8(uint8(a.ContentType))
	w.Opaque(a.AuthenticatedData)
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (a *PrivateContentAAD) UnmarshalTLS(r *codec.Reader) {
	a.GroupID = r.Opaque()
	a.Epoch = r.Uint64()
	a.ContentType = ContentType(r.Uint8())
	a.AuthenticatedData = r.Opaque()
}

// ReuseGuardSize is the length of [SenderData.ReuseGuard].
const ReuseGuardSize = 4

// SenderData is the encrypted sender information of a [PrivateMessage]
// (RFC 9420 §6.3.2).
type SenderData struct {
	LeafIndex  uint32
	Generation uint32
	ReuseGuard [ReuseGuardSize]byte
}

// MarshalTLS implements [codec.Marshaler].
func (s SenderData) MarshalTLS(w *codec.Writer) {
	w.Uint32(s.LeafIndex)
	w.Uint32(s.Generation)
	w.Raw(s.ReuseGuard[:])
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (s *SenderData) UnmarshalTLS(r *codec.Reader) {
	s.LeafIndex = r.Uint32()
	s.Generation = r.Uint32()
	copy(s.ReuseGuard[:], r.Raw(ReuseGuardSize))
}

// SenderDataAAD is the AEAD associated data of the sender data encryption
// (RFC 9420 §6.3.2).
type SenderDataAAD struct {
	GroupID     []byte
	Epoch       uint64
	ContentType ContentType
}

// MarshalTLS implements [codec.Marshaler].
func (a SenderDataAAD) MarshalTLS(w *codec.Writer) {
	w.Opaque(a.GroupID)
	w.Uint64(a.Epoch)
	w.Uint8(uint8(a.ContentType))
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (a *SenderDataAAD) UnmarshalTLS(r *codec.Reader) {
	a.GroupID = r.Opaque()
	a.Epoch = r.Uint64()
	a.ContentType = ContentType(r.Uint8())
}
