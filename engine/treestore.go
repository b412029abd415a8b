package engine

import (
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// treeChunkNodes is the number of consecutive tree nodes per stored chunk
// (state/tree_<c> holds nodes [c·treeChunkNodes, (c+1)·treeChunkNodes)).
// Small chunks keep a commit's write to the O(log n) nodes it changes:
// a path's nodes at levels ≥ 4 each fall in their own chunk.
const treeChunkNodes = 16

func treeChunks(width uint32) uint32 { return (width + treeChunkNodes - 1) / treeChunkNodes }

// marshalTreeChunk encodes chunk c of t as an optional<Node> vector.
func marshalTreeChunk(t *tree.Tree, c uint32) []byte {
	return t.EncodeNodes(tree.NodeIndex(c*treeChunkNodes), tree.NodeIndex((c+1)*treeChunkNodes))
}

// changedTreeChunks returns the chunks of ns to rewrite relative to a stored
// tree of oldWidth nodes (0 for none), and the stale chunks to delete.
func changedTreeChunks(ns *tree.Tree, oldWidth uint32, all bool) (put, del []uint32) {
	n := treeChunks(ns.Width())
	if all {
		for c := uint32(0); c < n; c++ {
			put = append(put, c)
		}
		return put, nil
	}
	seen := map[uint32]bool{}
	add := func(c uint32) {
		if c < n && !seen[c] {
			seen[c] = true
			put = append(put, c)
		}
	}
	for _, x := range ns.ChangedNodes() {
		add(uint32(x) / treeChunkNodes)
	}
	if oldWidth != ns.Width() {
		// The boundary chunk and every chunk beyond the old end change shape.
		first := min(treeChunks(oldWidth), n)
		if first > 0 {
			first--
		}
		for c := first; c < n; c++ {
			add(c)
		}
		for c := n; c < treeChunks(oldWidth); c++ {
			del = append(del, c)
		}
	}
	return put, del
}

// loadTreeChunks rebuilds a tree of width nodes from its chunks.
func loadTreeChunks(cs *suite.Suite, width uint32, chunks [][]byte) (*tree.Tree, error) {
	rt := make(wire.RatchetTree, 0, width)
	for c, b := range chunks {
		var part wire.RatchetTree
		if err := codec.Unmarshal(b, &part); err != nil {
			return nil, fmt.Errorf("tree chunk %d: %w", c, err)
		}
		rt = append(rt, part...)
	}
	if uint32(len(rt)) > width {
		rt = rt[:width]
	}
	for len(rt) > 0 && rt[len(rt)-1] == nil {
		rt = rt[:len(rt)-1]
	}
	t, err := tree.FromRatchetTree(cs, rt)
	if err != nil {
		return nil, err
	}
	if t.Width() != width {
		return nil, fmt.Errorf("tree width %d, stored %d: %w", t.Width(), width, tree.ErrMalformed)
	}
	return t, nil
}
