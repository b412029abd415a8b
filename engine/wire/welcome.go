package wire

import "github.com/mlsbackup/mlsbackup/engine/codec"

// PathSecret wraps a path secret sent to a new member (RFC 9420 §12.4.3.1).
type PathSecret struct {
	PathSecret []byte
}

// MarshalTLS implements [codec.Marshaler].
func (p PathSecret) MarshalTLS(w *codec.Writer) { w.Opaque(p.PathSecret) }

// UnmarshalTLS implements [codec.Unmarshaler].
func (p *PathSecret) UnmarshalTLS(r *codec.Reader) { p.PathSecret = r.Opaque() }

// GroupSecrets is the plaintext encrypted to each new member in a
// [Welcome] (RFC 9420 §12.4.3.1). PathSecret is nil when absent.
type GroupSecrets struct {
	JoinerSecret []byte
	PathSecret   *PathSecret
	PSKs         []PreSharedKeyID
}

// MarshalTLS implements [codec.Marshaler].
func (g GroupSecrets) MarshalTLS(w *codec.Writer) {
	w.Opaque(g.JoinerSecret)
	w.Optional(g.PathSecret != nil, func(w *codec.Writer) { g.PathSecret.MarshalTLS(w) })
	writeList(w, g.PSKs)
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (g *GroupSecrets) UnmarshalTLS(r *codec.Reader) {
	g.JoinerSecret = r.Opaque()
	g.PathSecret = nil
	r.Optional(func(r *codec.Reader) {
		g.PathSecret = new(PathSecret)
		g.PathSecret.UnmarshalTLS(r)
	})
	g.PSKs = readList[PreSharedKeyID](r)
}

// EncryptedGroupSecrets is the [GroupSecrets] encrypted to the init key of
// the key package NewMember refers to (RFC 9420 §12.4.3.1).
type EncryptedGroupSecrets struct {
	NewMember             []byte
	EncryptedGroupSecrets HPKECiphertext
}

// MarshalTLS implements [codec.Marshaler].
func (e EncryptedGroupSecrets) MarshalTLS(w *codec.Writer) {
	w.Opaque(e.NewMember)
	e.EncryptedGroupSecrets.MarshalTLS(w)
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (e *EncryptedGroupSecrets) UnmarshalTLS(r *codec.Reader) {
	e.NewMember = r.Opaque()
	e.EncryptedGroupSecrets.UnmarshalTLS(r)
}

// Welcome invites new members into a group (RFC 9420 §12.4.3.1).
type Welcome struct {
	CipherSuite        CipherSuite
	Secrets            []EncryptedGroupSecrets
	EncryptedGroupInfo []byte
}

// MarshalTLS implements [codec.Marshaler].
func (m Welcome) MarshalTLS(w *codec.Writer) {
	w.Uint16(uint16(m.CipherSuite))
	writeList(w, m.Secrets)
	w.Opaque(m.EncryptedGroupInfo)
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (m *Welcome) UnmarshalTLS(r *codec.Reader) {
	m.CipherSuite = CipherSuite(r.Uint16())
	m.Secrets = readList[EncryptedGroupSecrets](r)
	m.EncryptedGroupInfo = r.Opaque()
}
