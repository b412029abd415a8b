package tree

import (
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/treemath"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// maxLeaves bounds the size of a tree accepted from the wire (2^30 leaves
// would not fit a varint-length vector anyway).
const maxLeaves = 1 << 30

// FromRatchetTree builds a tree from its array form (the ratchet_tree
// extension, §12.4.3.3). It checks the shape only: the last node must be
// non-blank and each node must have the type its position requires. The
// tree is extended with blanks to a complete tree. Callers joining a group
// must then check the tree hash and call [Tree.Validate].
func FromRatchetTree(cs *suite.Suite, rt wire.RatchetTree) (*Tree, error) {
	if len(rt) == 0 {
		return nil, fmt.Errorf("ratchet tree: empty: %w", ErrMalformed)
	}
	if rt[len(rt)-1] == nil {
		return nil, fmt.Errorf("ratchet tree: last node blank: %w", ErrMalformed)
	}
	if len(rt) > 2*maxLeaves-1 {
		return nil, fmt.Errorf("ratchet tree: %d nodes: %w", len(rt), ErrMalformed)
	}
	n := uint32(1)
	for int(treemath.NodeWidth(n)) < len(rt) {
		n *= 2
	}
	t := &Tree{cs: cs, st: newStore(int(treemath.NodeWidth(n))), widthChanged: true}
	for i, nd := range rt {
		if nd == nil {
			continue
		}
		if err := checkNodeType(NodeIndex(i), nd); err != nil {
			return nil, fmt.Errorf("ratchet tree: %w", err)
		}
		t.st.mut(NodeIndex(i)).node = nd
	}
	t.markAllChanged()
	return t, nil
}

// checkNodeType checks that nd has the variant its index requires.
func checkNodeType(x NodeIndex, nd *wire.Node) error {
	if treemath.IsLeaf(x) {
		if nd.NodeType != wire.NodeTypeLeaf || nd.Leaf == nil || nd.Parent != nil {
			return fmt.Errorf("node %d is not a leaf node: %w", x, ErrMalformed)
		}
		return nil
	}
	if nd.NodeType != wire.NodeTypeParent || nd.Parent == nil || nd.Leaf != nil {
		return fmt.Errorf("node %d is not a parent node: %w", x, ErrMalformed)
	}
	return nil
}

// Decode parses an encoded optional<Node> ratchet_tree<V> and builds the
// tree with [FromRatchetTree].
func Decode(cs *suite.Suite, b []byte) (*Tree, error) {
	var rt wire.RatchetTree
	if err := codec.Unmarshal(b, &rt); err != nil {
		return nil, fmt.Errorf("decode ratchet tree: %w", err)
	}
	return FromRatchetTree(cs, rt)
}

// RatchetTree returns the array form of the tree without trailing blank
// nodes, as the ratchet_tree extension carries it. Nodes are shared.
func (t *Tree) RatchetTree() wire.RatchetTree {
	end := t.encodedEnd()
	rt := make(wire.RatchetTree, end)
	for i := range rt {
		rt[i] = t.st.at(NodeIndex(i)).node
	}
	return rt
}

// encodedEnd returns the number of nodes the ratchet_tree encoding holds:
// the width without trailing blanks.
func (t *Tree) encodedEnd() int {
	end := t.st.len()
	for end > 0 && t.st.at(NodeIndex(end-1)).node == nil {
		end--
	}
	return end
}

// Encode returns the encoded ratchet_tree of [Tree.RatchetTree]. Each
// node's encoding is cached until the node changes, so encoding the tree
// of a new epoch re-encodes only the nodes the commit changed and
// concatenates the rest.
func (t *Tree) Encode() []byte { return t.EncodeNodes(0, NodeIndex(t.encodedEnd())) }

// EncodeNodes returns the encoding of nodes [lo, hi) as an optional<Node>
// vector (blank nodes included), the encoding of [wire.RatchetTree]; hi is
// capped at the tree's width. It uses and fills the per-node encoding
// cache.
func (t *Tree) EncodeNodes(lo, hi NodeIndex) []byte {
	hi = min(hi, NodeIndex(t.st.len()))
	lo = min(lo, hi)
	xs := make([]NodeIndex, 0, hi-lo)
	for x := lo; x < hi; x++ {
		xs = append(xs, x)
	}
	return t.EncodeNodeList(xs)
}

// EncodeNodeList encodes nodes xs (each below the width), in that order,
// as an optional<Node> vector.
func (t *Tree) EncodeNodeList(xs []NodeIndex) []byte {
	size := 0
	for _, x := range xs {
		size += len(t.nodeEncoding(x))
	}
	w := codec.NewWriter(make([]byte, 0, size+4))
	w.Vector(func(w *codec.Writer) {
		for _, x := range xs {
			w.Raw(t.st.at(x).enc)
		}
	})
	return w.Bytes()
}

// nodeEncoding returns the cached optional<Node> encoding of node x,
// computing and caching it if needed.
func (t *Tree) nodeEncoding(x NodeIndex) []byte {
	sl := t.st.at(x)
	if sl.enc != nil {
		return sl.enc
	}
	var w codec.Writer
	n := sl.node
	w.Optional(n != nil, func(w *codec.Writer) { n.MarshalTLS(w) })
	enc := w.Bytes()
	t.st.mut(x).enc = enc
	return enc
}
