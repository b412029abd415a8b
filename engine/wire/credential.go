package wire

import "github.com/mlsbackup/mlsbackup/engine/codec"

// Credential binds an identity to a signature key (RFC 9420 §5.3).
// For [CredentialTypeBasic] Identity is set; for [CredentialTypeX509]
// Certificates holds the DER certificate chain, leaf first. Other credential
// types cannot be decoded, because their body has no length prefix.
type Credential struct {
	CredentialType CredentialType
	Identity       []byte
	Certificates   [][]byte
}

// MarshalTLS implements [codec.Marshaler]. For a credential type other than
// basic or x509 only the type is written, which no decoder accepts.
func (c Credential) MarshalTLS(w *codec.Writer) {
	w.Uint16(uint16(c.CredentialType))
	switch c.CredentialType {
	case CredentialTypeBasic:
		w.Opaque(c.Identity)
	case CredentialTypeX509:
		w.Vector(func(w *codec.Writer) {
			for _, cert := range c.Certificates {
				w.Opaque(cert)
			}
		})
	}
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (c *Credential) UnmarshalTLS(r *codec.Reader) {
	*c = Credential{CredentialType: CredentialType(r.Uint16())}
	switch c.CredentialType {
	case CredentialTypeBasic:
		c.Identity = r.Opaque()
	case CredentialTypeX509:
		c.Certificates = [][]byte{}
		r.Vector(func(r *codec.Reader) { c.Certificates = append(c.Certificates, r.Opaque()) })
	default:
		if r.Err() == nil {
			invalid(r, "credential type %d", c.CredentialType)
		}
	}
}
