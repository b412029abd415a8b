package tree

import (
	"slices"
	"sync"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/treemath"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// parallelHashWidth is the tree width from which the first computation of
// all tree hashes splits the two halves of the root across goroutines.
const parallelHashWidth = 1024

// TreeHash returns the tree hash of the root (§7.8). Cached hashes are
// reused, so after a change to one path only that path is re-hashed.
func (t *Tree) TreeHash() []byte {
	root := t.Root()
	l, _ := treemath.Left(root)
	r, _ := treemath.Right(root)
	if t.st.len() >= parallelHashWidth && t.st.at(l).hash == nil && t.st.at(r).hash == nil {
		// Both halves need hashing (a tree just loaded): hash them in
		// parallel. Own every chunk first, so the two goroutines write
		// disjoint slots and never replace a chunk.
		t.st.ownAll()
		var wg sync.WaitGroup
		wg.Go(func() { t.NodeHash(l) })
		t.NodeHash(r)
		wg.Wait()
	}
	return t.NodeHash(root)
}

// NodeHash returns the tree hash of the subtree headed by x (§7.8), or nil
// if x is outside the tree.
func (t *Tree) NodeHash(x NodeIndex) []byte {
	if int(x) >= t.st.len() {
		return nil
	}
	if h := t.st.at(x).hash; h != nil {
		return h
	}
	scratch := make([]byte, 0, 512)
	return t.nodeHash(x, &scratch)
}

// nodeHash is [Tree.NodeHash] with a scratch buffer for the encodings.
func (t *Tree) nodeHash(x NodeIndex, scratch *[]byte) []byte {
	if h := t.st.at(x).hash; h != nil {
		return h
	}
	var h []byte
	if l, ok := x.Leaf(); ok {
		h = t.leafHash(scratch, l, t.Leaf(l))
	} else {
		left, _ := treemath.Left(x)
		right, _ := treemath.Right(x)
		lh := t.nodeHash(left, scratch)
		rh := t.nodeHash(right, scratch)
		h = t.parentHashInput(scratch, t.Parent(x), lh, rh)
	}
	t.st.mut(x).hash = h
	return h
}

// leafHash hashes a LeafNodeHashInput for leaf l holding leaf (nil =
// blank), encoding it into *scratch.
func (t *Tree) leafHash(scratch *[]byte, l LeafIndex, leaf *wire.LeafNode) []byte {
	w := codec.NewWriter((*scratch)[:0])
	w.Uint8(uint8(wire.NodeTypeLeaf))
	w.Uint32(uint32(l))
	w.Bool(leaf != nil)
	if leaf != nil {
		leaf.MarshalTLS(w)
	}
	*scratch = w.Bytes()
	return t.cs.Hash(*scratch)
}

// parentHashInput hashes a ParentNodeHashInput, encoding it into *scratch.
func (t *Tree) parentHashInput(scratch *[]byte, p *wire.ParentNode, left, right []byte) []byte {
	w := codec.NewWriter((*scratch)[:0])
	w.Uint8(uint8(wire.NodeTypeParent))
	w.Bool(p != nil)
	if p != nil {
		p.MarshalTLS(w)
	}
	w.Opaque(left)
	w.Opaque(right)
	*scratch = w.Bytes()
	return t.cs.Hash(*scratch)
}

// hashExcluding returns the tree hash of the subtree under x in the tree
// modified by blanking every leaf in excl (sorted ascending) and removing
// those leaves from all unmerged-leaves lists: the "original sibling tree
// hash" of §7.9. Subtrees without an excluded leaf reuse the cache, so the
// cost is O(len(excl) · log n).
func (t *Tree) hashExcluding(x NodeIndex, excl []uint32) []byte {
	lo, hi := treemath.SubtreeRange(x)
	first, _ := slices.BinarySearch(excl, uint32(lo/2))
	if first == len(excl) || excl[first] > uint32(hi/2) {
		return t.NodeHash(x)
	}
	var scratch []byte
	if l, ok := x.Leaf(); ok {
		return t.leafHash(&scratch, l, nil)
	}
	p := t.Parent(x)
	if p != nil {
		np := *p
		np.UnmergedLeaves = nil
		for _, u := range p.UnmergedLeaves {
			if _, found := slices.BinarySearch(excl, u); !found {
				np.UnmergedLeaves = append(np.UnmergedLeaves, u)
			}
		}
		if np.UnmergedLeaves == nil {
			np.UnmergedLeaves = []uint32{}
		}
		p = &np
	}
	left, _ := treemath.Left(x)
	right, _ := treemath.Right(x)
	return t.parentHashInput(&scratch, p, t.hashExcluding(left, excl), t.hashExcluding(right, excl))
}
