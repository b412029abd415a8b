package wire

import "github.com/mlsbackup/mlsbackup/engine/codec"

// ConfirmedTranscriptHashInput is hashed with the interim transcript hash
// to form the confirmed transcript hash (RFC 9420 §8.2). Content must have
// content type commit.
type ConfirmedTranscriptHashInput struct {
	WireFormat WireFormat
	Content    FramedContent
	Signature  []byte
}

// MarshalTLS implements [codec.Marshaler].
func (c ConfirmedTranscriptHashInput) MarshalTLS(w *codec.Writer) {
	w.Uint16(uint16(c.WireFormat))
	c.Content.MarshalTLS(w)
	w.Opaque(c.Signature)
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (c *ConfirmedTranscriptHashInput) UnmarshalTLS(r *codec.Reader) {
	c.WireFormat = WireFormat(r.Uint16())
	c.Content.UnmarshalTLS(r)
	c.Signature = r.Opaque()
}

// InterimTranscriptHashInput is hashed with the confirmed transcript hash to
// form the interim transcript hash (RFC 9420 §8.2).
type InterimTranscriptHashInput struct {
	ConfirmationTag []byte
}

// MarshalTLS implements [codec.Marshaler].
func (i InterimTranscriptHashInput) MarshalTLS(w *codec.Writer) { w.Opaque(i.ConfirmationTag) }

// UnmarshalTLS implements [codec.Unmarshaler].
func (i *InterimTranscriptHashInput) UnmarshalTLS(r *codec.Reader) {
	i.ConfirmationTag = r.Opaque()
}
