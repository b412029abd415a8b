package wire

import "github.com/mlsbackup/mlsbackup/engine/codec"

// Capabilities lists what a client supports (RFC 9420 §7.2).
type Capabilities struct {
	Versions     []ProtocolVersion
	CipherSuites []CipherSuite
	Extensions   []ExtensionType
	Proposals    []ProposalType
	Credentials  []CredentialType
}

// MarshalTLS implements [codec.Marshaler].
func (c Capabilities) MarshalTLS(w *codec.Writer) {
	writeUint16s(w, c.Versions)
	writeUint16s(w, c.CipherSuites)
	writeUint16s(w, c.Extensions)
	writeUint16s(w, c.Proposals)
	writeUint16s(w, c.Credentials)
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (c *Capabilities) UnmarshalTLS(r *codec.Reader) {
	c.Versions = readUint16s[ProtocolVersion](r)
	c.CipherSuites = readUint16s[CipherSuite](r)
	c.Extensions = readUint16s[ExtensionType](r)
	c.Proposals = readUint16s[ProposalType](r)
	c.Credentials = readUint16s[CredentialType](r)
}

// Lifetime bounds the validity of a key package's leaf node, in seconds
// since the Unix epoch (RFC 9420 §7.2).
type Lifetime struct {
	NotBefore uint64
	NotAfter  uint64
}

// MarshalTLS implements [codec.Marshaler].
func (l Lifetime) MarshalTLS(w *codec.Writer) {
	w.Uint64(l.NotBefore)
	w.Uint64(l.NotAfter)
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (l *Lifetime) UnmarshalTLS(r *codec.Reader) {
	l.NotBefore = r.Uint64()
	l.NotAfter = r.Uint64()
}

// LeafNode is a member's leaf in the ratchet tree (RFC 9420 §7.2).
// Lifetime is used when LeafNodeSource is key_package, ParentHash when it is
// commit.
type LeafNode struct {
	EncryptionKey  []byte
	SignatureKey   []byte
	Credential     Credential
	Capabilities   Capabilities
	LeafNodeSource LeafNodeSource
	Lifetime       Lifetime
	ParentHash     []byte
	Extensions     Extensions
	Signature      []byte
}

// marshalBody writes the fields shared by LeafNode and LeafNodeTBS.
func (l *LeafNode) marshalBody(w *codec.Writer) {
	w.Opaque(l.EncryptionKey)
	w.Opaque(l.SignatureKey)
	l.Credential.MarshalTLS(w)
	l.Capabilities.MarshalTLS(w)
	w.Uint8(uint8(l.LeafNodeSource))
	switch l.LeafNodeSource {
	case LeafNodeSourceKeyPackage:
		l.Lifetime.MarshalTLS(w)
	case LeafNodeSourceCommit:
		w.Opaque(l.ParentHash)
	}
	l.Extensions.MarshalTLS(w)
}

// MarshalTLS implements [codec.Marshaler].
func (l LeafNode) MarshalTLS(w *codec.Writer) {
	l.marshalBody(w)
	w.Opaque(l.Signature)
}

// MarshalTBS writes LeafNodeTBS, the content signed with label "LeafNodeTBS".
// groupID and leafIndex are written only for the update and commit sources.
func (l *LeafNode) MarshalTBS(w *codec.Writer, groupID []byte, leafIndex uint32) {
	l.marshalBody(w)
	switch l.LeafNodeSource {
	case LeafNodeSourceUpdate, LeafNodeSourceCommit:
		w.Opaque(groupID)
		w.Uint32(leafIndex)
	}
}

// TBS returns the encoded LeafNodeTBS (see [LeafNode.MarshalTBS]).
func (l *LeafNode) TBS(groupID []byte, leafIndex uint32) []byte {
	var w codec.Writer
	l.MarshalTBS(&w, groupID, leafIndex)
	return w.Bytes()
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (l *LeafNode) UnmarshalTLS(r *codec.Reader) {
	*l = LeafNode{}
	l.EncryptionKey = r.Opaque()
	l.SignatureKey = r.Opaque()
	l.Credential.UnmarshalTLS(r)
	l.Capabilities.UnmarshalTLS(r)
	l.LeafNodeSource = LeafNodeSource(r.Uint8())
	if r.Err() != nil {
		return
	}
	switch l.LeafNodeSource {
	case LeafNodeSourceKeyPackage:
		l.Lifetime.UnmarshalTLS(r)
	case LeafNodeSourceUpdate:
	case LeafNodeSourceCommit:
		l.ParentHash = r.Opaque()
	default:
		invalid(r, "leaf node source %d", l.LeafNodeSource)
		return
	}
	l.Extensions.UnmarshalTLS(r)
	l.Signature = r.Opaque()
}
