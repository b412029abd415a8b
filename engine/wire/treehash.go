package wire

import "github.com/mlsbackup/mlsbackup/engine/codec"

// LeafNodeHashInput is the tree-hash input of a leaf (RFC 9420 §7.8).
// LeafNode is nil for a blank leaf. It is only ever encoded, as the leaf
// variant of TreeHashInput (node_type byte included).
type LeafNodeHashInput struct {
	LeafIndex uint32
	LeafNode  *LeafNode
}

// MarshalTLS writes TreeHashInput with node_type leaf.
func (h LeafNodeHashInput) MarshalTLS(w *codec.Writer) {
	w.Uint8(uint8(NodeTypeLeaf))
	w.Uint32(h.LeafIndex)
	w.Optional(h.LeafNode != nil, func(w *codec.Writer) { h.LeafNode.MarshalTLS(w) })
}

// ParentNodeHashInput is the tree-hash input of a parent (RFC 9420 §7.8).
// ParentNode is nil for a blank node. It is only ever encoded, as the parent
// variant of TreeHashInput (node_type byte included).
type ParentNodeHashInput struct {
	ParentNode *ParentNode
	LeftHash   []byte
	RightHash  []byte
}

// MarshalTLS writes TreeHashInput with node_type parent.
func (h ParentNodeHashInput) MarshalTLS(w *codec.Writer) {
	w.Uint8(uint8(NodeTypeParent))
	w.Optional(h.ParentNode != nil, func(w *codec.Writer) { h.ParentNode.MarshalTLS(w) })
	w.Opaque(h.LeftHash)
	w.Opaque(h.RightHash)
}

// ParentHashInput is the input of a parent hash (RFC 9420 §7.9).
type ParentHashInput struct {
	EncryptionKey           []byte
	ParentHash              []byte
	OriginalSiblingTreeHash []byte
}

// MarshalTLS implements [codec.Marshaler].
func (h ParentHashInput) MarshalTLS(w *codec.Writer) {
	w.Opaque(h.EncryptionKey)
	w.Opaque(h.ParentHash)
	w.Opaque(h.OriginalSiblingTreeHash)
}
