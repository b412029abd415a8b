package wire

import "github.com/mlsbackup/mlsbackup/engine/codec"

// Extension is an extension of a key package, leaf node, group context or
// group info (RFC 9420 §7.2). ExtensionData is the encoded extension body.
type Extension struct {
	ExtensionType ExtensionType
	ExtensionData []byte
}

// MarshalTLS implements [codec.Marshaler].
func (e Extension) MarshalTLS(w *codec.Writer) {
	w.Uint16(uint16(e.ExtensionType))
	w.Opaque(e.ExtensionData)
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (e *Extension) UnmarshalTLS(r *codec.Reader) {
	e.ExtensionType = ExtensionType(r.Uint16())
	e.ExtensionData = r.Opaque()
}

// Extensions is the vector Extension extensions<V>. The decoder keeps the
// order; duplicate types are left to semantic validation ([Extensions.HasDuplicates]).
type Extensions []Extension

// MarshalTLS implements [codec.Marshaler]. It writes the vector's length
// first rather than through [codec.Writer.Vector], so that encoding a
// GroupContext does not make its Writer escape to the heap.
func (es Extensions) MarshalTLS(w *codec.Writer) {
	n := 0
	for _, e := range es {
		n += 2 + codec.OpaqueLen(e.ExtensionData)
	}
	w.Varint(n)
	for _, e := range es {
		e.MarshalTLS(w)
	}
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (es *Extensions) UnmarshalTLS(r *codec.Reader) {
	*es = readList[Extension](r)
}

// Find returns the data of the first extension of type t.
func (es Extensions) Find(t ExtensionType) ([]byte, bool) {
	for _, e := range es {
		if e.ExtensionType == t {
			return e.ExtensionData, true
		}
	}
	return nil, false
}

// HasDuplicates reports whether some extension type occurs more than once.
func (es Extensions) HasDuplicates() bool {
	seen := make(map[ExtensionType]bool, len(es))
	for _, e := range es {
		if seen[e.ExtensionType] {
			return true
		}
		seen[e.ExtensionType] = true
	}
	return false
}

// RequiredCapabilities is the body of the required_capabilities group
// context extension (RFC 9420 §11.1).
type RequiredCapabilities struct {
	ExtensionTypes  []ExtensionType
	ProposalTypes   []ProposalType
	CredentialTypes []CredentialType
}

// MarshalTLS implements [codec.Marshaler].
func (rc RequiredCapabilities) MarshalTLS(w *codec.Writer) {
	writeUint16s(w, rc.ExtensionTypes)
	writeUint16s(w, rc.ProposalTypes)
	writeUint16s(w, rc.CredentialTypes)
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (rc *RequiredCapabilities) UnmarshalTLS(r *codec.Reader) {
	rc.ExtensionTypes = readUint16s[ExtensionType](r)
	rc.ProposalTypes = readUint16s[ProposalType](r)
	rc.CredentialTypes = readUint16s[CredentialType](r)
}

// ExternalSender is one entry of the external_senders group context
// extension (RFC 9420 §12.1.8.1).
type ExternalSender struct {
	SignatureKey []byte
	Credential   Credential
}

// MarshalTLS implements [codec.Marshaler].
func (s ExternalSender) MarshalTLS(w *codec.Writer) {
	w.Opaque(s.SignatureKey)
	s.Credential.MarshalTLS(w)
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (s *ExternalSender) UnmarshalTLS(r *codec.Reader) {
	s.SignatureKey = r.Opaque()
	s.Credential.UnmarshalTLS(r)
}

// ExternalSenders is the body of the external_senders extension:
// ExternalSender external_senders<V>.
type ExternalSenders []ExternalSender

// MarshalTLS implements [codec.Marshaler].
func (s ExternalSenders) MarshalTLS(w *codec.Writer) { writeList(w, s) }

// UnmarshalTLS implements [codec.Unmarshaler].
func (s *ExternalSenders) UnmarshalTLS(r *codec.Reader) {
	*s = readList[ExternalSender](r)
}

// ExternalPub is the body of the external_pub group info extension
// (RFC 9420 §12.4.3.2).
type ExternalPub struct {
	ExternalPub []byte
}

// MarshalTLS implements [codec.Marshaler].
func (e ExternalPub) MarshalTLS(w *codec.Writer) { w.Opaque(e.ExternalPub) }

// UnmarshalTLS implements [codec.Unmarshaler].
func (e *ExternalPub) UnmarshalTLS(r *codec.Reader) { e.ExternalPub = r.Opaque() }

// ApplicationID is the body of the application_id leaf node extension
// (RFC 9420 §5.3.3).
type ApplicationID struct {
	ApplicationID []byte
}

// MarshalTLS implements [codec.Marshaler].
func (a ApplicationID) MarshalTLS(w *codec.Writer) { w.Opaque(a.ApplicationID) }

// UnmarshalTLS implements [codec.Unmarshaler].
func (a *ApplicationID) UnmarshalTLS(r *codec.Reader) { a.ApplicationID = r.Opaque() }
