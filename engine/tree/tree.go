// Package tree implements the MLS ratchet tree and TreeKEM (RFC 9420 §4,
// §7, §12.4.3): a left-balanced array of leaf and parent nodes with blanks
// and unmerged leaves, the membership operations of §12.1 (add, update,
// remove, truncate), resolutions and filtered direct paths, tree hashes and
// parent hashes, validation of leaf nodes and of whole trees received on
// joining, and the creation and processing of UpdatePaths.
//
// Tree hashes are cached per node: a change to a leaf or to a direct path
// invalidates only the O(log n) hashes on that path, so hashing after a
// commit costs O(log n), not O(n). Nodes are immutable values held in a
// copy-on-write store of 64-node chunks, so [Tree.Clone] costs O(n/64) and
// a group can stage a commit on a clone and discard it. Uniqueness checks
// of encryption and signature keys use an index shared between clones.
// The HPKE encryptions of an UpdatePath, the key derivations along a path
// and the leaf signature checks of a joined tree run on all CPUs.
//
// The private keys a member holds for its own leaf and direct path live in
// [PrivateKeys], a small value with a binary encoding the group layer
// persists. Changes to the public tree are tracked per node since the last
// [Tree.Mark], so a store can write only the chunks that changed
// ([Tree.ChangedChunks], [Tree.MarshalChunk], [LoadChunks]).
package tree

import (
	"errors"
	"fmt"
	"slices"

	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/treemath"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// NodeIndex and LeafIndex are the index types of [treemath].
type (
	NodeIndex = treemath.NodeIndex
	LeafIndex = treemath.LeafIndex
)

// Sentinel errors of the package. Errors returned by this package wrap one
// of them (or an error of package suite for failed cryptography).
var (
	// ErrMalformed means a tree or path does not have the shape RFC 9420
	// requires (wrong node types, wrong lengths, trailing blanks).
	ErrMalformed = errors.New("tree: malformed")
	// ErrBlank means an operation referred to a blank node that must be set.
	ErrBlank = errors.New("tree: blank node")
	// ErrOutOfRange means a leaf or node index lies outside the tree.
	ErrOutOfRange = errors.New("tree: index out of range")
	// ErrParentHash means a parent hash did not verify.
	ErrParentHash = errors.New("tree: parent hash mismatch")
	// ErrInvalidLeaf means a leaf node failed validation (§7.3).
	ErrInvalidLeaf = errors.New("tree: invalid leaf node")
	// ErrDuplicateKey means an encryption or signature key occurs twice.
	ErrDuplicateKey = errors.New("tree: duplicate key")
	// ErrUnmerged means the unmerged-leaves lists are inconsistent.
	ErrUnmerged = errors.New("tree: inconsistent unmerged leaves")
	// ErrNoPrivateKey means no held private key can decrypt an UpdatePath.
	ErrNoPrivateKey = errors.New("tree: no private key for update path")
	// ErrKeyMismatch means a derived public key differs from the tree's.
	ErrKeyMismatch = errors.New("tree: derived key does not match tree")
)

// Tree is a ratchet tree for one cipher suite. The zero value is not
// usable; create trees with [New], [FromRatchetTree] or [LoadChunks]. A
// Tree is not safe for concurrent use: even reading methods such as
// [Tree.TreeHash] and [Tree.Clone] update internal caches. Distinct clones
// may be used concurrently.
type Tree struct {
	cs *suite.Suite
	st store // NodeWidth(leaves) slots; a nil node is blank
	// keys indexes encryption and signature keys for uniqueness checks.
	keys index
	// changed lists node indices modified since the last Mark, unsorted and
	// possibly repeated; widthChanged records a change of the tree's size.
	changed      []NodeIndex
	allChanged   bool
	widthChanged bool
}

// New returns a tree holding a single leaf, the creator of a group.
func New(cs *suite.Suite, leaf *wire.LeafNode) *Tree {
	t := &Tree{cs: cs, st: newStore(1), widthChanged: true}
	t.setNode(0, leafNode(leaf))
	return t
}

// leafNode wraps a leaf node (nil stays nil, a blank).
func leafNode(l *wire.LeafNode) *wire.Node {
	if l == nil {
		return nil
	}
	return &wire.Node{NodeType: wire.NodeTypeLeaf, Leaf: l}
}

// parentNode wraps a parent node.
func parentNode(p *wire.ParentNode) *wire.Node {
	if p == nil {
		return nil
	}
	return &wire.Node{NodeType: wire.NodeTypeParent, Parent: p}
}

// Suite returns the tree's cipher suite.
func (t *Tree) Suite() *suite.Suite { return t.cs }

// Clone returns an independent copy of t in O(n/64) time: the node store is
// copy-on-write and node values are shared, which is safe because the
// package never modifies a node in place.
func (t *Tree) Clone() *Tree {
	// Build the key index first, so that t and all its clones share it
	// instead of each clone building its own.
	t.idx()
	c := *t
	c.st = t.st.clone()
	c.keys = t.keys.clone()
	c.changed = slices.Clone(t.changed)
	return &c
}

// NumLeaves returns the number of leaves (blank or not); always a power of two.
func (t *Tree) NumLeaves() uint32 { return treemath.LeafCount(uint32(t.st.len())) }

// Width returns the number of nodes in the array representation.
func (t *Tree) Width() uint32 { return uint32(t.st.len()) }

// Root returns the index of the root node.
func (t *Tree) Root() NodeIndex { return treemath.Root(t.NumLeaves()) }

// Node returns node x, or nil if it is blank or outside the tree. The
// result is shared and must not be modified.
func (t *Tree) Node(x NodeIndex) *wire.Node {
	if int(x) >= t.st.len() {
		return nil
	}
	return t.st.at(x).node
}

// Leaf returns the leaf node of leaf l, or nil if it is blank or outside the
// tree. The result is shared and must not be modified.
func (t *Tree) Leaf(l LeafIndex) *wire.LeafNode {
	n := t.Node(l.Node())
	if n == nil {
		return nil
	}
	return n.Leaf
}

// Parent returns the parent node at x, or nil if it is blank, a leaf or
// outside the tree. The result is shared and must not be modified.
func (t *Tree) Parent(x NodeIndex) *wire.ParentNode {
	n := t.Node(x)
	if n == nil {
		return nil
	}
	return n.Parent
}

// IsBlank reports whether node x is blank (or outside the tree).
func (t *Tree) IsBlank(x NodeIndex) bool { return t.Node(x) == nil }

// EncryptionKey returns the HPKE public key held at node x, or nil if blank.
func (t *Tree) EncryptionKey(x NodeIndex) []byte {
	n := t.Node(x)
	switch {
	case n == nil:
		return nil
	case n.Leaf != nil:
		return n.Leaf.EncryptionKey
	case n.Parent != nil:
		return n.Parent.EncryptionKey
	}
	return nil
}

// Members calls fn for every non-blank leaf in index order until fn
// returns false.
func (t *Tree) Members(fn func(l LeafIndex, leaf *wire.LeafNode) bool) {
	for i := 0; i < t.st.len(); i += 2 {
		if n := t.st.at(NodeIndex(i)).node; n != nil && n.Leaf != nil {
			if !fn(LeafIndex(i/2), n.Leaf) {
				return
			}
		}
	}
}

// NumMembers returns the number of non-blank leaves.
func (t *Tree) NumMembers() int {
	c := 0
	t.Members(func(LeafIndex, *wire.LeafNode) bool { c++; return true })
	return c
}

// DirectPath returns the direct path of leaf l, from its parent to the root.
func (t *Tree) DirectPath(l LeafIndex) []NodeIndex {
	return treemath.DirectPath(l.Node(), t.NumLeaves())
}

// checkLeaf returns an error unless l is inside the tree.
func (t *Tree) checkLeaf(l LeafIndex) error {
	if uint32(l) >= t.NumLeaves() {
		return fmt.Errorf("leaf %d of %d: %w", l, t.NumLeaves(), ErrOutOfRange)
	}
	return nil
}

// setNode stores n at x, invalidates the cached hashes of x and its
// ancestors and records the change.
func (t *Tree) setNode(x NodeIndex, n *wire.Node) {
	sl := t.st.mut(x)
	t.keys.remove(sl.node)
	t.keys.add(n)
	sl.node = n
	sl.hash = nil
	sl.enc = nil
	if !t.allChanged {
		t.changed = append(t.changed, x)
	}
	// Ancestors of a node without a cached hash have none either (hashes
	// are computed bottom up), so the walk stops at the first such node.
	nl := t.NumLeaves()
	for p, ok := treemath.Parent(x, nl); ok; p, ok = treemath.Parent(p, nl) {
		if t.st.at(p).hash == nil {
			return
		}
		t.st.mut(p).hash = nil
	}
}
