package wire

import "github.com/mlsbackup/mlsbackup/engine/codec"

// ParentNode is an interior node of the ratchet tree (RFC 9420 §7.1).
type ParentNode struct {
	EncryptionKey  []byte
	ParentHash     []byte
	UnmergedLeaves []uint32
}

// MarshalTLS implements [codec.Marshaler].
func (p ParentNode) MarshalTLS(w *codec.Writer) {
	w.Opaque(p.EncryptionKey)
	w.Opaque(p.ParentHash)
	writeUint32s(w, p.UnmergedLeaves)
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (p *ParentNode) UnmarshalTLS(r *codec.Reader) {
	p.EncryptionKey = r.Opaque()
	p.ParentHash = r.Opaque()
	p.UnmergedLeaves = readUint32s(r)
}

// Node is a non-blank node of the ratchet tree (RFC 9420 §12.4.3.3):
// exactly one of Leaf and Parent is set, matching NodeType.
type Node struct {
	NodeType NodeType
	Leaf     *LeafNode
	Parent   *ParentNode
}

// MarshalTLS implements [codec.Marshaler]. A node whose variant field is
// nil is written with an empty body, which no decoder accepts.
func (n Node) MarshalTLS(w *codec.Writer) {
	w.Uint8(uint8(n.NodeType))
	switch {
	case n.NodeType == NodeTypeLeaf && n.Leaf != nil:
		n.Leaf.MarshalTLS(w)
	case n.NodeType == NodeTypeParent && n.Parent != nil:
		n.Parent.MarshalTLS(w)
	}
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (n *Node) UnmarshalTLS(r *codec.Reader) {
	n.NodeType = NodeType(r.Uint8())
	if r.Err() != nil {
		return
	}
	n.Leaf, n.Parent = nil, nil
	switch n.NodeType {
	case NodeTypeLeaf:
		n.Leaf = new(LeafNode)
		n.Leaf.UnmarshalTLS(r)
	case NodeTypeParent:
		n.Parent = new(ParentNode)
		n.Parent.UnmarshalTLS(r)
	default:
		invalid(r, "node type %d", n.NodeType)
	}
}

// RatchetTree is the array form of a ratchet tree, optional<Node>
// ratchet_tree<V> (RFC 9420 §12.4.3.3), as carried by the ratchet_tree
// extension. A nil entry is a blank node. The decoder checks only the
// encoding; the shape rules of §12.4.3.3 (odd length, non-blank last node,
// leaves at even indices) are left to tree validation.
type RatchetTree []*Node

// MarshalTLS implements [codec.Marshaler].
func (t RatchetTree) MarshalTLS(w *codec.Writer) {
	w.Vector(func(w *codec.Writer) {
		for _, n := range t {
			w.Optional(n != nil, func(w *codec.Writer) { n.MarshalTLS(w) })
		}
	})
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (t *RatchetTree) UnmarshalTLS(r *codec.Reader) {
	out := RatchetTree{}
	r.Vector(func(r *codec.Reader) {
		var n *Node
		r.Optional(func(r *codec.Reader) {
			n = new(Node)
			n.UnmarshalTLS(r)
		})
		out = append(out, n)
	})
	if r.Err() != nil {
		*t = nil
		return
	}
	*t = out
}
