package wire

import "github.com/mlsbackup/mlsbackup/engine/codec"

// GroupContext is the shared state summary of an epoch (RFC 9420 §8.1).
type GroupContext struct {
	Version                 ProtocolVersion
	CipherSuite             CipherSuite
	GroupID                 []byte
	Epoch                   uint64
	TreeHash                []byte
	ConfirmedTranscriptHash []byte
	Extensions              Extensions
}

// MarshalTLS implements [codec.Marshaler].
func (g GroupContext) MarshalTLS(w *codec.Writer) {
	w.Uint16(uint16(g.Version))
	w.Uint16(uint16(g.CipherSuite))
	w.Opaque(g.GroupID)
	w.Uint64(g.Epoch)
	w.Opaque(g.TreeHash)
	w.Opaque(g.ConfirmedTranscriptHash)
	g.Extensions.MarshalTLS(w)
}

// EncodedLen returns the length of g's encoding.
func (g *GroupContext) EncodedLen() int {
	ext := 0
	for _, e := range g.Extensions {
		ext += 2 + codec.OpaqueLen(e.ExtensionData)
	}
	return 4 + codec.OpaqueLen(g.GroupID) + 8 + codec.OpaqueLen(g.TreeHash) +
		codec.OpaqueLen(g.ConfirmedTranscriptHash) + codec.VarintLen(ext) + ext
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (g *GroupContext) UnmarshalTLS(r *codec.Reader) {
	g.Version = ProtocolVersion(r.Uint16())
	g.CipherSuite = CipherSuite(r.Uint16())
	g.GroupID = r.Opaque()
	g.Epoch = r.Uint64()
	g.TreeHash = r.Opaque()
	g.ConfirmedTranscriptHash = r.Opaque()
	g.Extensions.UnmarshalTLS(r)
}

// GroupInfo describes a group to joiners (RFC 9420 §12.4.3).
type GroupInfo struct {
	GroupContext    GroupContext
	Extensions      Extensions
	ConfirmationTag []byte
	Signer          uint32
	Signature       []byte
}

// MarshalTBS writes GroupInfoTBS, the content signed with label "GroupInfoTBS".
func (g *GroupInfo) MarshalTBS(w *codec.Writer) {
	g.GroupContext.MarshalTLS(w)
	g.Extensions.MarshalTLS(w)
	w.Opaque(g.ConfirmationTag)
	w.Uint32(g.Signer)
}

// TBS returns the encoded GroupInfoTBS.
func (g *GroupInfo) TBS() []byte {
	var w codec.Writer
	g.MarshalTBS(&w)
	return w.Bytes()
}

// MarshalTLS implements [codec.Marshaler].
func (g GroupInfo) MarshalTLS(w *codec.Writer) {
	g.MarshalTBS(w)
	w.Opaque(g.Signature)
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (g *GroupInfo) UnmarshalTLS(r *codec.Reader) {
	g.GroupContext.UnmarshalTLS(r)
	g.Extensions.UnmarshalTLS(r)
	g.ConfirmationTag = r.Opaque()
	g.Signer = r.Uint32()
	g.Signature = r.Opaque()
}
