package tree

import (
	"fmt"
	"slices"

	"github.com/mlsbackup/mlsbackup/engine/treemath"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// LeftmostBlankLeaf returns the leftmost blank leaf, or NumLeaves() if every
// leaf is taken (an add would then extend the tree).
func (t *Tree) LeftmostBlankLeaf() LeafIndex {
	for i := 0; i < t.st.len(); i += 2 {
		if t.st.at(NodeIndex(i)).node == nil {
			return LeafIndex(i / 2)
		}
	}
	return LeafIndex(t.NumLeaves())
}

// extend doubles the number of leaves, adding a blank root and a blank
// right subtree (§7.7).
func (t *Tree) extend() {
	n := t.NumLeaves()
	w := treemath.NodeWidth(2 * n)
	old := t.st.len()
	t.st.resize(int(w))
	t.widthChanged = true
	for x := old; x < int(w) && !t.allChanged; x++ {
		t.changed = append(t.changed, NodeIndex(x))
	}
}

// ReserveLeaf returns the leftmost blank leaf, extending the tree if there
// is none, and leaves it blank: the position of an external committer
// (§12.4.3.2), whose leaf the UpdatePath then sets through
// [Tree.ApplyUpdatePath] or [Tree.CreateUpdatePath]. (Adding the path's
// leaf with [Tree.AddLeaf] first would put its key in the tree, and
// ApplyUpdatePath rejects keys already present.)
func (t *Tree) ReserveLeaf() LeafIndex {
	l := t.LeftmostBlankLeaf()
	if uint32(l) >= t.NumLeaves() {
		t.extend()
	}
	return l
}

// AddLeaf places leaf in the leftmost blank leaf, extending the tree if
// there is none, and adds the new leaf to the unmerged leaves of every
// non-blank parent on its direct path (§12.1.1). It returns the new leaf's
// index.
func (t *Tree) AddLeaf(leaf *wire.LeafNode) LeafIndex {
	l := t.LeftmostBlankLeaf()
	if uint32(l) >= t.NumLeaves() {
		t.extend()
	}
	for _, p := range t.DirectPath(l) {
		pn := t.Parent(p)
		if pn == nil {
			continue
		}
		np := *pn
		np.UnmergedLeaves = insertSorted(pn.UnmergedLeaves, uint32(l))
		t.setNode(p, parentNode(&np))
	}
	t.setNode(l.Node(), leafNode(leaf))
	return l
}

// insertSorted returns a new sorted slice with v added to the sorted s.
func insertSorted(s []uint32, v uint32) []uint32 {
	i, found := slices.BinarySearch(s, v)
	if found {
		return slices.Clone(s)
	}
	out := make([]uint32, 0, len(s)+1)
	out = append(out, s[:i]...)
	out = append(out, v)
	return append(out, s[i:]...)
}

// SetLeaf replaces leaf l (which must be inside the tree) without touching
// its direct path. Use [Tree.UpdateLeaf] for an Update proposal.
func (t *Tree) SetLeaf(l LeafIndex, leaf *wire.LeafNode) error {
	if err := t.checkLeaf(l); err != nil {
		return fmt.Errorf("set leaf: %w", err)
	}
	t.setNode(l.Node(), leafNode(leaf))
	return nil
}

// BlankPath blanks every parent node on the direct path of leaf l.
func (t *Tree) BlankPath(l LeafIndex) error {
	if err := t.checkLeaf(l); err != nil {
		return fmt.Errorf("blank path: %w", err)
	}
	for _, p := range t.DirectPath(l) {
		if t.Node(p) != nil {
			t.setNode(p, nil)
		}
	}
	return nil
}

// UpdateLeaf applies an Update proposal from leaf l (§12.1.2): it replaces
// the leaf and blanks its direct path. The leaf must not be blank.
func (t *Tree) UpdateLeaf(l LeafIndex, leaf *wire.LeafNode) error {
	if err := t.checkLeaf(l); err != nil {
		return fmt.Errorf("update leaf: %w", err)
	}
	if t.Leaf(l) == nil {
		return fmt.Errorf("update leaf %d: %w", l, ErrBlank)
	}
	t.setNode(l.Node(), leafNode(leaf))
	return t.BlankPath(l)
}

// RemoveLeaf applies a Remove proposal for leaf l (§12.1.3): it blanks the
// leaf and its direct path and truncates the tree.
func (t *Tree) RemoveLeaf(l LeafIndex) error {
	if err := t.checkLeaf(l); err != nil {
		return fmt.Errorf("remove leaf: %w", err)
	}
	if t.Leaf(l) == nil {
		return fmt.Errorf("remove leaf %d: %w", l, ErrBlank)
	}
	t.setNode(l.Node(), nil)
	if err := t.BlankPath(l); err != nil {
		return err
	}
	t.Truncate()
	return nil
}

// Truncate halves the tree while the right subtree of the root is entirely
// blank (§7.7), discarding the root whether or not it is blank, and keeps
// at least one leaf.
func (t *Tree) Truncate() {
	n := t.NumLeaves()
	for n > 1 && t.blankRange(n, treemath.NodeWidth(n)) {
		n /= 2
	}
	w := int(treemath.NodeWidth(n))
	if w == t.st.len() {
		return
	}
	for i := w; i < t.st.len(); i++ {
		t.keys.remove(t.st.at(NodeIndex(i)).node)
	}
	t.st.resize(w)
	t.widthChanged = true
}

// blankRange reports whether every node in [from, to) is blank, scanning
// from the right, where the last members of a tree usually are.
func (t *Tree) blankRange(from, to uint32) bool {
	for i := int(to) - 1; i >= int(from); i-- {
		if t.st.at(NodeIndex(i)).node != nil {
			return false
		}
	}
	return true
}
