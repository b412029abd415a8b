package wire

import "github.com/mlsbackup/mlsbackup/engine/codec"

// Reference labels of RFC 9420 §5.2.
const (
	KeyPackageRefLabel = "MLS 1.0 KeyPackage Reference"
	ProposalRefLabel   = "MLS 1.0 Proposal Reference"
)

// KeyPackage is a client's pre-published offer to be added to a group
// (RFC 9420 §10).
type KeyPackage struct {
	Version     ProtocolVersion
	CipherSuite CipherSuite
	InitKey     []byte
	LeafNode    LeafNode
	Extensions  Extensions
	Signature   []byte
}

// MarshalTBS writes KeyPackageTBS, the content signed with label "KeyPackageTBS".
func (k *KeyPackage) MarshalTBS(w *codec.Writer) {
	w.Uint16(uint16(k.Version))
	w.Uint16(uint16(k.CipherSuite))
	w.Opaque(k.InitKey)
	k.LeafNode.MarshalTLS(w)
	k.Extensions.MarshalTLS(w)
}

// TBS returns the encoded KeyPackageTBS.
func (k *KeyPackage) TBS() []byte {
	var w codec.Writer
	k.MarshalTBS(&w)
	return w.Bytes()
}

// MarshalTLS implements [codec.Marshaler].
func (k KeyPackage) MarshalTLS(w *codec.Writer) {
	k.MarshalTBS(w)
	w.Opaque(k.Signature)
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (k *KeyPackage) UnmarshalTLS(r *codec.Reader) {
	k.Version = ProtocolVersion(r.Uint16())
	k.CipherSuite = CipherSuite(r.Uint16())
	k.InitKey = r.Opaque()
	k.LeafNode.UnmarshalTLS(r)
	k.Extensions.UnmarshalTLS(r)
	k.Signature = r.Opaque()
}

// RefHashInput is the input of RefHash (RFC 9420 §5.2).
type RefHashInput struct {
	Label []byte
	Value []byte
}

// MarshalTLS implements [codec.Marshaler].
func (h RefHashInput) MarshalTLS(w *codec.Writer) {
	w.Opaque(h.Label)
	w.Opaque(h.Value)
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (h *RefHashInput) UnmarshalTLS(r *codec.Reader) {
	h.Label = r.Opaque()
	h.Value = r.Opaque()
}

// RefHash computes RefHash(label, value) = hash(RefHashInput) with the
// cipher suite's hash function (RFC 9420 §5.2).
func RefHash(hash func([]byte) []byte, label string, value []byte) []byte {
	return hash(codec.Marshal(RefHashInput{Label: []byte(label), Value: value}))
}

// MakeKeyPackageRef returns the KeyPackageRef of the encoded key package
// (RFC 9420 §5.2). Pass the exact bytes received, not a re-encoding.
func MakeKeyPackageRef(hash func([]byte) []byte, keyPackage []byte) []byte {
	return RefHash(hash, KeyPackageRefLabel, keyPackage)
}

// MakeProposalRef returns the ProposalRef of an encoded
// [AuthenticatedContent] carrying a proposal (RFC 9420 §5.2).
func MakeProposalRef(hash func([]byte) []byte, authenticatedContent []byte) []byte {
	return RefHash(hash, ProposalRefLabel, authenticatedContent)
}
