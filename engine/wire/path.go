package wire

import "github.com/mlsbackup/mlsbackup/engine/codec"

// HPKECiphertext is an HPKE encapsulation and ciphertext (RFC 9420 §7.6).
type HPKECiphertext struct {
	KEMOutput  []byte
	Ciphertext []byte
}

// MarshalTLS implements [codec.Marshaler].
func (c HPKECiphertext) MarshalTLS(w *codec.Writer) {
	w.Opaque(c.KEMOutput)
	w.Opaque(c.Ciphertext)
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (c *HPKECiphertext) UnmarshalTLS(r *codec.Reader) {
	c.KEMOutput = r.Opaque()
	c.Ciphertext = r.Opaque()
}

// UpdatePathNode is one node of an [UpdatePath]: the new public key and the
// path secret encrypted to each node of the copath child's resolution.
type UpdatePathNode struct {
	EncryptionKey       []byte
	EncryptedPathSecret []HPKECiphertext
}

// MarshalTLS implements [codec.Marshaler].
func (n UpdatePathNode) MarshalTLS(w *codec.Writer) {
	w.Opaque(n.EncryptionKey)
	writeList(w, n.EncryptedPathSecret)
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (n *UpdatePathNode) UnmarshalTLS(r *codec.Reader) {
	n.EncryptionKey = r.Opaque()
	n.EncryptedPathSecret = readListCap[HPKECiphertext](r, countCiphertexts(r))
}

// countCiphertexts returns how many HPKECiphertexts (two length-prefixed
// strings each) the vector at r's position holds, reading a copy of r: a
// path in a group of 1000 carries ~1000 of them, which are then decoded
// into a list allocated once. It is at most one more than half the
// vector's length (a malformed last pair counts too).
func countCiphertexts(r *codec.Reader) int {
	peek := *r
	c := codec.NewReader(peek.Opaque())
	n := 0
	for ; !c.Empty(); n++ {
		c.Opaque()
		c.Opaque()
	}
	return n
}

// UpdatePath is the committer's new leaf and direct path (RFC 9420 §7.6).
type UpdatePath struct {
	LeafNode LeafNode
	Nodes    []UpdatePathNode
}

// MarshalTLS implements [codec.Marshaler].
func (p UpdatePath) MarshalTLS(w *codec.Writer) {
	p.LeafNode.MarshalTLS(w)
	writeList(w, p.Nodes)
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (p *UpdatePath) UnmarshalTLS(r *codec.Reader) {
	p.LeafNode.UnmarshalTLS(r)
	p.Nodes = readList[UpdatePathNode](r)
}
