package tree

import (
	"slices"

	"github.com/mlsbackup/mlsbackup/engine/treemath"
)

// leafSet is a sorted set of leaf indices.
type leafSet []uint32

// newLeafSet returns the sorted set of ls.
func newLeafSet(ls []LeafIndex) leafSet {
	if len(ls) == 0 {
		return nil
	}
	s := make(leafSet, len(ls))
	for i, l := range ls {
		s[i] = uint32(l)
	}
	slices.Sort(s)
	return slices.Compact(s)
}

func (s leafSet) has(l uint32) bool {
	if len(s) == 0 {
		return false
	}
	_, found := slices.BinarySearch(s, l)
	return found
}

// Resolution returns the resolution of node x (§4.1.1): the non-blank nodes
// that together cover every non-blank descendant of x, left to right, each
// non-blank parent followed by its unmerged leaves. Leaves in exclude (the
// members added by the commit being created or processed, §7.6) are left out.
func (t *Tree) Resolution(x NodeIndex, exclude []LeafIndex) []NodeIndex {
	var out []NodeIndex
	t.walkResolution(x, newLeafSet(exclude), func(n NodeIndex) bool {
		out = append(out, n)
		return true
	})
	return out
}

// walkResolution calls fn for each node of the resolution of x, skipping
// leaves in excl, until fn returns false. It reports whether the walk ran
// to the end.
func (t *Tree) walkResolution(x NodeIndex, excl leafSet, fn func(NodeIndex) bool) bool {
	n := t.Node(x)
	if l, ok := x.Leaf(); ok {
		if n == nil || excl.has(uint32(l)) {
			return true
		}
		return fn(x)
	}
	if n != nil {
		if !fn(x) {
			return false
		}
		if n.Parent != nil {
			for _, u := range n.Parent.UnmergedLeaves {
				if !excl.has(u) && !fn(LeafIndex(u).Node()) {
					return false
				}
			}
		}
		return true
	}
	left, _ := treemath.Left(x)
	right, _ := treemath.Right(x)
	return t.walkResolution(left, excl, fn) && t.walkResolution(right, excl, fn)
}

// resolutionEmpty reports whether the resolution of x is empty, that is,
// whether every node of its subtree is blank.
func (t *Tree) resolutionEmpty(x NodeIndex) bool {
	return t.walkResolution(x, nil, func(NodeIndex) bool { return false })
}

// PathStep is one node of a filtered direct path with the copath child
// below it whose resolution receives the node's path secret.
type PathStep struct {
	Node   NodeIndex
	Copath NodeIndex
}

// FilteredDirectPath returns the filtered direct path of leaf l (§4.1.2):
// the direct path without the nodes whose copath child has an empty
// resolution, ordered from the leaf towards the root.
func (t *Tree) FilteredDirectPath(l LeafIndex) []PathStep {
	n := t.NumLeaves()
	dp := treemath.DirectPath(l.Node(), n)
	cp := treemath.Copath(l.Node(), n)
	out := make([]PathStep, 0, len(dp))
	for i, p := range dp {
		if !t.resolutionEmpty(cp[i]) {
			out = append(out, PathStep{Node: p, Copath: cp[i]})
		}
	}
	return out
}
