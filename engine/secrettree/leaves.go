package secrettree

import (
	"iter"
	"maps"
	"slices"
	"sync/atomic"
)

// maxRecent is how many leaves a tree whose leaves map is shared keeps in
// its recent list before it copies the map: an application message changes
// one leaf, so a clone per message copies a short list, not the map.
const maxRecent = 8

// leafRatchets holds a leaf's two ratchets and the id of the tree that may
// change them in place.
type leafRatchets struct {
	r     [2]ratchet
	owner uint64
}

// leafEntry is one leaf of a tree's recent list.
type leafEntry struct {
	leaf uint32
	l    *leafRatchets
}

// newID returns an id no tree of t's clone family has had yet.
func (t *Tree) newID() uint64 {
	if t.clock == nil {
		t.clock = new(atomic.Uint64)
	}
	return t.clock.Add(1)
}

// leaf returns leaf's ratchets, or nil if it has none yet.
func (t *Tree) leaf(leaf uint32) *leafRatchets {
	for _, e := range t.recent {
		if e.leaf == leaf {
			return e.l
		}
	}
	return t.leaves[leaf]
}

// hasLeaf reports whether leaf has ratchets.
func (t *Tree) hasLeaf(leaf uint32) bool { return t.leaf(leaf) != nil }

// putLeaf makes l leaf's ratchets: in the recent list if leaf is there or
// the leaves map is shared, in the leaves map otherwise.
func (t *Tree) putLeaf(leaf uint32, l *leafRatchets) {
	for i, e := range t.recent {
		if e.leaf == leaf {
			if t.sharedRecent {
				t.recent, t.sharedRecent = slices.Clone(t.recent), false
			}
			t.recent[i].l = l
			return
		}
	}
	if t.sharedLeaves && len(t.recent) >= maxRecent {
		t.fold()
	}
	if !t.sharedLeaves {
		t.leaves[leaf] = l
		return
	}
	// A shared list has its capacity cut to its length: this copies it.
	t.recent, t.sharedRecent = append(t.recent, leafEntry{leaf: leaf, l: l}), false
}

// fold moves the recent list into a leaves map of t's own.
func (t *Tree) fold() {
	if !t.sharedLeaves && len(t.recent) == 0 {
		return
	}
	if t.sharedLeaves {
		m := make(map[uint32]*leafRatchets, len(t.leaves)+len(t.recent))
		maps.Copy(m, t.leaves)
		t.leaves, t.sharedLeaves = m, false
	}
	for _, e := range t.recent {
		t.leaves[e.leaf] = e.l
	}
	t.recent, t.sharedRecent = nil, false
}

// allLeaves yields every leaf with ratchets, in no particular order.
func (t *Tree) allLeaves() iter.Seq2[uint32, *leafRatchets] {
	return func(yield func(uint32, *leafRatchets) bool) {
		for _, e := range t.recent {
			if !yield(e.leaf, e.l) {
				return
			}
		}
		for i, l := range t.leaves {
			if t.inRecent(i) {
				continue
			}
			if !yield(i, l) {
				return
			}
		}
	}
}

// inRecent reports whether leaf is in the recent list.
func (t *Tree) inRecent(leaf uint32) bool {
	for _, e := range t.recent {
		if e.leaf == leaf {
			return true
		}
	}
	return false
}

// writableLeaf returns leaf's existing ratchets ready to change, copying
// them first if t does not own them. The copy shares the ratchet secrets
// (a step replaces a secret and zeroes the old one only if it is not
// shared) and copies the retained keys, which change in place.
func (t *Tree) writableLeaf(leaf uint32) *leafRatchets {
	l := t.leaf(leaf)
	if l.owner == t.id {
		return l
	}
	r := [2]ratchet{l.r[0].share(), l.r[1].share()}
	if t.sharedRecent && len(t.recent) <= smallRecent && t.inRecent(leaf) {
		// The usual case of a clone per message: the copy of the leaf and
		// the copy of the short recent list it replaces an entry of come
		// in one allocation.
		c := &leafAndRecent{l: leafRatchets{r: r, owner: t.id}}
		t.recent, t.sharedRecent = append(c.recent[:0], t.recent...), false
		t.putLeaf(leaf, &c.l)
		return &c.l
	}
	l = &leafRatchets{r: r, owner: t.id}
	t.putLeaf(leaf, l)
	return l
}

// smallRecent is the length of recent list that [leafAndRecent] holds.
const smallRecent = 4

// leafAndRecent is a copied leaf's ratchets allocated together with the
// copy of the recent list that refers to them.
type leafAndRecent struct {
	l      leafRatchets
	recent [smallRecent]leafEntry
}

// markChanged adds leaf to the change set.
func (t *Tree) markChanged(leaf uint32) {
	if i, found := slices.BinarySearch(t.changed, leaf); !found {
		// A shared change set has its capacity cut to its length: this
		// copies it.
		t.changed = slices.Insert(t.changed, i, leaf)
	}
}
