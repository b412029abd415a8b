package engine

import (
	"context"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// The ratchet tree is stored in chunks of at most treeChunkNodes-1 nodes,
// arranged so that a commit rewrites few bytes: a path's nodes at levels
// 0–3 share their leaf's chunk, levels 4–7 one chunk, 8–11 one, and so on.
//
// Node x of family 0 goes to family 0 unless x ≡ 15 (mod 16) — exactly the
// nodes at level 4 and above; those are renumbered x/16 and placed by the
// same rule in family 1, and so on. Within its family f a node with
// (renumbered) index y lives in chunk y/16 at slot y%16 (0–14).
// state/nodes_<f>_<c> holds chunk c of family f: the optional<Node> of its
// slots in order, up to the family's width.
//
// Layout 1 (context record version 1), read for stores written before it,
// held nodes [16c, 16c+16) in state/tree_<c>; such a group is rewritten in
// the current layout by its next transition.
const (
	treeChunkNodes = 16
	treeUpSlot     = treeChunkNodes - 1
	treeNodesFmt   = "nodes_%d_%06d"
)

// treeChunk names a chunk of the current layout.
type treeChunk struct{ family, index uint32 }

func (c treeChunk) name() string { return fmt.Sprintf(treeNodesFmt, c.family, c.index) }

// treeFamilyWidths returns the width of every non-empty family of a tree
// of width nodes, family 0 first.
func treeFamilyWidths(width uint32) []uint32 {
	var ws []uint32
	for w := width; w > 0; w /= treeChunkNodes {
		ws = append(ws, w)
	}
	return ws
}

// treeChunkOf returns the chunk holding node x.
func treeChunkOf(x uint32) treeChunk {
	var f uint32
	for x%treeChunkNodes == treeUpSlot {
		x /= treeChunkNodes
		f++
	}
	return treeChunk{family: f, index: x / treeChunkNodes}
}

// nodes returns the tree nodes of chunk c, in slot order, in a family of
// width fw.
func (c treeChunk) nodes(fw uint32) []tree.NodeIndex {
	var xs []tree.NodeIndex
	for s := range uint32(treeUpSlot) {
		y := c.index*treeChunkNodes + s
		if y >= fw {
			break
		}
		for range c.family {
			y = y*treeChunkNodes + treeUpSlot
		}
		xs = append(xs, tree.NodeIndex(y))
	}
	return xs
}

// allTreeChunks lists every chunk of a tree of width nodes.
func allTreeChunks(width uint32) []treeChunk {
	var cs []treeChunk
	for f, fw := range treeFamilyWidths(width) {
		for i := range (fw + treeChunkNodes - 1) / treeChunkNodes {
			cs = append(cs, treeChunk{family: uint32(f), index: i})
		}
	}
	return cs
}

// marshalTreeChunk encodes chunk c of t as an optional<Node> vector.
func marshalTreeChunk(t *tree.Tree, c treeChunk) []byte {
	ws := treeFamilyWidths(t.Width())
	return t.EncodeNodeList(c.nodes(ws[c.family]))
}

// changedTreeChunks returns the chunks of ns to rewrite relative to a stored
// tree of oldWidth nodes (0 for none), and the stale chunks to delete; all
// rewrites every chunk.
func changedTreeChunks(ns *tree.Tree, oldWidth uint32, all bool) (put, del []treeChunk) {
	if all {
		return allTreeChunks(ns.Width()), nil
	}
	seen := map[treeChunk]bool{}
	add := func(c treeChunk) {
		if !seen[c] {
			seen[c] = true
			put = append(put, c)
		}
	}
	for _, x := range ns.ChangedNodes() {
		if uint32(x) < ns.Width() {
			add(treeChunkOf(uint32(x)))
		}
	}
	if oldWidth != ns.Width() {
		// In each family, the chunk at the shorter end and every chunk up
		// to the longer end change shape, appear or go.
		oldWs, newWs := treeFamilyWidths(oldWidth), treeFamilyWidths(ns.Width())
		at := func(ws []uint32, f int) uint32 {
			if f < len(ws) {
				return ws[f]
			}
			return 0
		}
		for f := range max(len(oldWs), len(newWs)) {
			ow, nw := at(oldWs, f), at(newWs, f)
			oldN, newN := (ow+treeChunkNodes-1)/treeChunkNodes, (nw+treeChunkNodes-1)/treeChunkNodes
			for i := min(ow, nw) / treeChunkNodes; i < newN; i++ {
				add(treeChunk{family: uint32(f), index: i})
			}
			for i := newN; i < oldN; i++ {
				del = append(del, treeChunk{family: uint32(f), index: i})
			}
		}
	}
	return put, del
}

// readTree reads the ratchet tree of a group whose context record is cr.
func readTree(ctx context.Context, st Storage, gid []byte, cs *suite.Suite, cr contextRecord) (*tree.Tree, error) {
	rt := make(wire.RatchetTree, cr.Width)
	if cr.legacyTree {
		for c := range legacyTreeChunks(cr.Width) {
			if err := readTreeChunk(ctx, st, gid, legacyTreeChunkName(c), rt, legacyChunkNodes(c, cr.Width)); err != nil {
				return nil, err
			}
		}
	} else {
		ws := treeFamilyWidths(cr.Width)
		for _, c := range allTreeChunks(cr.Width) {
			if err := readTreeChunk(ctx, st, gid, c.name(), rt, c.nodes(ws[c.family])); err != nil {
				return nil, err
			}
		}
	}
	for len(rt) > 0 && rt[len(rt)-1] == nil {
		rt = rt[:len(rt)-1]
	}
	t, err := tree.FromRatchetTree(cs, rt)
	if err != nil {
		return nil, fmt.Errorf("ratchet tree: %w: %w", ErrCorrupt, err)
	}
	if t.Width() != cr.Width {
		return nil, fmt.Errorf("ratchet tree: width %d, stored %d: %w", t.Width(), cr.Width, ErrCorrupt)
	}
	return t, nil
}

// readTreeChunk reads chunk name into rt at the nodes xs.
func readTreeChunk(ctx context.Context, st Storage, gid []byte, name string, rt wire.RatchetTree, xs []tree.NodeIndex) error {
	b, err := getComponent(ctx, st, gid, KindState, name)
	if err != nil {
		return err
	}
	var part wire.RatchetTree
	if err := codec.Unmarshal(b, &part); err != nil {
		return fmt.Errorf("tree chunk %s: %w: %w", name, ErrCorrupt, err)
	}
	if len(part) != len(xs) {
		return fmt.Errorf("tree chunk %s: %d nodes, want %d: %w", name, len(part), len(xs), ErrCorrupt)
	}
	for i, x := range xs {
		rt[x] = part[i]
	}
	return nil
}

// Layout 1: state/tree_<c> holds nodes [16c, 16c+16).
const legacyTreeChunkFmt = "tree_%06d"

func legacyTreeChunkName(c uint32) string { return fmt.Sprintf(legacyTreeChunkFmt, c) }

func legacyTreeChunks(width uint32) uint32 { return (width + treeChunkNodes - 1) / treeChunkNodes }

func legacyChunkNodes(c, width uint32) []tree.NodeIndex {
	var xs []tree.NodeIndex
	for x := c * treeChunkNodes; x < min((c+1)*treeChunkNodes, width); x++ {
		xs = append(xs, tree.NodeIndex(x))
	}
	return xs
}
