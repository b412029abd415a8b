// Package treemath implements the array-based tree arithmetic of RFC 9420
// Appendix C on node and leaf indices.
//
// A ratchet tree with n leaves is stored as an array of 2n-1 nodes. Leaves
// sit at even node indices (leaf i at node 2i), parent nodes at odd indices.
// The level of a node is the number of trailing one bits of its index. MLS
// trees are always complete (n is a power of two), but every function here
// is also defined for other leaf counts the way Appendix C defines it.
//
// Functions that have no answer for some inputs (the children of a leaf, the
// parent of the root) return a second boolean result instead of panicking.
package treemath

import "math/bits"

// NodeIndex is the index of a node in the array representation of a tree.
type NodeIndex uint32

// LeafIndex is the index of a leaf among the leaves of a tree.
type LeafIndex uint32

// Node returns the node index of leaf l (2l).
func (l LeafIndex) Node() NodeIndex { return NodeIndex(l) * 2 }

// Leaf returns the leaf index of node x and whether x is a leaf.
func (x NodeIndex) Leaf() (LeafIndex, bool) {
	if !IsLeaf(x) {
		return 0, false
	}
	return LeafIndex(x / 2), true
}

// IsLeaf reports whether x is a leaf (an even node index).
func IsLeaf(x NodeIndex) bool { return x&1 == 0 }

// Level returns the level of x: 0 for leaves, 1 for their parents and so on.
func Level(x NodeIndex) uint { return uint(bits.TrailingZeros32(^uint32(x))) }

// NodeWidth returns the number of nodes in a tree with nLeaves leaves.
func NodeWidth(nLeaves uint32) uint32 {
	if nLeaves == 0 {
		return 0
	}
	return 2*(nLeaves-1) + 1
}

// LeafCount returns the number of leaves of a tree whose array has width
// nodes (the inverse of [NodeWidth] for odd widths).
func LeafCount(width uint32) uint32 {
	if width == 0 {
		return 0
	}
	return width/2 + 1
}

// log2 returns floor(log2(x)), and 0 for x == 0.
func log2(x uint32) uint {
	if x == 0 {
		return 0
	}
	return uint(bits.Len32(x)) - 1
}

// Root returns the index of the root of a tree with nLeaves leaves.
func Root(nLeaves uint32) NodeIndex {
	w := NodeWidth(nLeaves)
	return NodeIndex(uint32(1)<<log2(w) - 1)
}

// InTree reports whether x is a node of a tree with nLeaves leaves.
func InTree(x NodeIndex, nLeaves uint32) bool { return uint32(x) < NodeWidth(nLeaves) }

// Left returns the left child of x; ok is false if x is a leaf.
func Left(x NodeIndex) (child NodeIndex, ok bool) {
	k := Level(x)
	if k == 0 {
		return 0, false
	}
	return x ^ (1 << (k - 1)), true
}

// Right returns the right child of x; ok is false if x is a leaf.
func Right(x NodeIndex) (child NodeIndex, ok bool) {
	k := Level(x)
	if k == 0 {
		return 0, false
	}
	return x ^ (3 << (k - 1)), true
}

// Parent returns the parent of x in a tree with nLeaves leaves; ok is false
// if x is the root or outside the tree.
func Parent(x NodeIndex, nLeaves uint32) (p NodeIndex, ok bool) {
	if !InTree(x, nLeaves) || x == Root(nLeaves) {
		return 0, false
	}
	return parent(x), true
}

// parent is the parent step of Appendix C without bounds checks.
func parent(x NodeIndex) NodeIndex {
	k := Level(x)
	b := (x >> (k + 1)) & 1
	return (x | 1<<k) ^ (b << (k + 1))
}

// Sibling returns the other child of x's parent; ok is false if x is the
// root or outside the tree.
func Sibling(x NodeIndex, nLeaves uint32) (s NodeIndex, ok bool) {
	p, ok := Parent(x, nLeaves)
	if !ok {
		return 0, false
	}
	if x < p {
		r, _ := Right(p)
		return r, true
	}
	l, _ := Left(p)
	return l, true
}

// DirectPath returns the ancestors of x from its parent up to the root. It
// is empty for the root and for nodes outside the tree.
func DirectPath(x NodeIndex, nLeaves uint32) []NodeIndex {
	if !InTree(x, nLeaves) {
		return nil
	}
	r := Root(nLeaves)
	var d []NodeIndex
	for x != r {
		x = parent(x)
		d = append(d, x)
	}
	return d
}

// Copath returns the siblings of x and of each node on its direct path
// except the root, ordered from x upwards.
func Copath(x NodeIndex, nLeaves uint32) []NodeIndex {
	d := DirectPath(x, nLeaves)
	if len(d) == 0 {
		return nil
	}
	c := make([]NodeIndex, 0, len(d))
	prev := x
	for _, p := range d {
		if prev < p {
			r, _ := Right(p)
			c = append(c, r)
		} else {
			l, _ := Left(p)
			c = append(c, l)
		}
		prev = p
	}
	return c
}

// SubtreeRange returns the smallest and largest node index in the subtree
// headed by x (in a complete tree).
func SubtreeRange(x NodeIndex) (lo, hi NodeIndex) {
	span := NodeIndex(1)<<Level(x) - 1
	return x - span, x + span
}

// IsAncestor reports whether a is an ancestor of x or x itself.
func IsAncestor(a, x NodeIndex) bool {
	lo, hi := SubtreeRange(a)
	return lo <= x && x <= hi
}

// CommonAncestor returns the lowest node that is x or an ancestor of x and
// also y or an ancestor of y.
func CommonAncestor(x, y NodeIndex) NodeIndex {
	lx, ly := Level(x)+1, Level(y)+1
	if lx <= ly && x>>ly == y>>ly {
		return y
	}
	if ly <= lx && x>>lx == y>>lx {
		return x
	}
	xn, yn := x, y
	var k uint
	for xn != yn {
		xn, yn = xn>>1, yn>>1
		k++
	}
	return xn<<k + 1<<(k-1) - 1
}
