package tree

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/treemath"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// parentHash hashes ParentHashInput{encryption_key, parent_hash,
// original_sibling_tree_hash} (§7.9).
func (t *Tree) parentHash(key, parentHashField, siblingHash []byte) []byte {
	w := codec.NewWriter(make([]byte, 0, 16+len(key)+len(parentHashField)+len(siblingHash)))
	w.Opaque(key)
	w.Opaque(parentHashField)
	w.Opaque(siblingHash)
	return t.cs.Hash(w.Bytes())
}

// nodeParentHash returns the parent hash of the non-blank parent p with
// copath child s, as stored in the tree: its original sibling tree hash
// blanks p's unmerged leaves.
func (t *Tree) nodeParentHash(p, s NodeIndex) []byte {
	pn := t.Parent(p)
	excl := slices.Clone(pn.UnmergedLeaves)
	slices.Sort(excl)
	return t.parentHash(pn.EncryptionKey, pn.ParentHash, t.hashExcluding(s, excl))
}

// pathParentHashes computes the parent_hash fields of an UpdatePath that
// sets the nodes of path to keys (§7.9): phs[i] is the field for path[i]
// and leafPH the one for the committer's leaf. The copath subtrees must
// already be in their final state (proposals applied).
func (t *Tree) pathParentHashes(path []PathStep, keys [][]byte) (phs [][]byte, leafPH []byte) {
	phs = make([][]byte, len(path))
	ph := []byte{}
	for i := len(path) - 1; i >= 0; i-- {
		phs[i] = ph
		ph = t.parentHash(keys[i], ph, t.NodeHash(path[i].Copath))
	}
	return phs, ph
}

// parentHashField returns the parent_hash a node stores: the field of a
// parent node, or of a leaf whose source is commit; nil otherwise.
func parentHashField(n *wire.Node) []byte {
	switch {
	case n == nil:
		return nil
	case n.Parent != nil:
		return n.Parent.ParentHash
	case n.Leaf != nil && n.Leaf.LeafNodeSource == wire.LeafNodeSourceCommit:
		return n.Leaf.ParentHash
	}
	return nil
}

// VerifyParentHashes checks that every non-blank parent node is
// parent-hash valid (§7.9.2), top down: exactly one descendant D of each
// non-blank parent P links to it, D lying in the resolution of P's child C
// on its side, with P's unmerged leaves under C equal to that resolution
// without D, and D's parent_hash equal to P's parent hash with copath
// child S. Since every D is a leaf or itself checked, each parent chains
// down to a leaf.
func (t *Tree) VerifyParentHashes() error {
	for x := 1; x < t.st.len(); x += 2 {
		p := NodeIndex(x)
		pn := t.Parent(p)
		if pn == nil {
			continue
		}
		left, _ := treemath.Left(p)
		right, _ := treemath.Right(p)
		links := 0
		for _, cs := range [2][2]NodeIndex{{left, right}, {right, left}} {
			d, ok := t.parentHashCandidate(pn, cs[0])
			if !ok {
				continue
			}
			field := parentHashField(t.Node(d))
			if field != nil && bytes.Equal(field, t.nodeParentHash(p, cs[1])) {
				links++
			}
		}
		if links != 1 {
			return fmt.Errorf("node %d: %d parent-hash links: %w", p, links, ErrParentHash)
		}
	}
	return nil
}

// parentHashCandidate returns the only node D in the resolution of child c
// of parent pn that is not one of pn's unmerged leaves, provided every
// unmerged leaf of pn under c is in that resolution.
func (t *Tree) parentHashCandidate(pn *wire.ParentNode, c NodeIndex) (NodeIndex, bool) {
	lo, hi := treemath.SubtreeRange(c)
	unmerged := make(map[uint32]bool)
	for _, u := range pn.UnmergedLeaves {
		if u >= uint32(lo/2) && u <= uint32(hi/2) {
			unmerged[u] = true
		}
	}
	var (
		cand    NodeIndex
		others  int
		matched int
	)
	t.walkResolution(c, nil, func(n NodeIndex) bool {
		if l, ok := n.Leaf(); ok && unmerged[uint32(l)] {
			matched++
			return true
		}
		cand = n
		others++
		return others < 2
	})
	return cand, others == 1 && matched == len(unmerged)
}
