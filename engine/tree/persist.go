package tree

import (
	"fmt"
	"slices"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/treemath"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// ChunkNodes is the number of consecutive nodes in one persistence chunk:
// chunk c holds nodes [c·ChunkNodes, (c+1)·ChunkNodes) ∩ [0, Width).
const ChunkNodes = 256

// Mark forgets the changes recorded so far; [Tree.ChangedNodes] and
// [Tree.ChangedChunks] then report changes made after this call. A store
// calls it after persisting a tree.
func (t *Tree) Mark() {
	t.changed = t.changed[:0]
	t.allChanged = false
	t.widthChanged = false
}

// markAllChanged records every node as changed (a tree built from scratch).
func (t *Tree) markAllChanged() {
	t.changed = t.changed[:0]
	t.allChanged = true
	t.widthChanged = true
}

// WidthChanged reports whether the number of nodes changed since the last
// [Tree.Mark]; a store must then also drop chunks at or beyond
// [Tree.NumChunks].
func (t *Tree) WidthChanged() bool { return t.widthChanged }

// ChangedNodes returns the indices, ascending and inside the tree, of the
// nodes set since the last [Tree.Mark].
func (t *Tree) ChangedNodes() []NodeIndex {
	if t.allChanged {
		out := make([]NodeIndex, t.st.len())
		for i := range out {
			out[i] = NodeIndex(i)
		}
		return out
	}
	out := slices.Clone(t.changed)
	slices.Sort(out)
	out = slices.Compact(out)
	end, _ := slices.BinarySearch(out, NodeIndex(t.st.len()))
	return out[:end]
}

// NumChunks returns the number of persistence chunks of the tree.
func (t *Tree) NumChunks() uint32 {
	return uint32((t.st.len() + ChunkNodes - 1) / ChunkNodes)
}

// ChangedChunks returns the ascending chunk numbers that must be rewritten
// since the last [Tree.Mark]: those holding a changed node and, if the
// tree shrank, the new last chunk.
func (t *Tree) ChangedChunks() []uint32 {
	var out []uint32
	for _, x := range t.ChangedNodes() {
		c := uint32(x) / ChunkNodes
		if len(out) == 0 || out[len(out)-1] != c {
			out = append(out, c)
		}
	}
	if t.widthChanged && t.st.len() > 0 {
		last := t.NumChunks() - 1
		if len(out) == 0 || out[len(out)-1] != last {
			out = append(out, last)
		}
	}
	return out
}

// MarshalChunk encodes chunk c as an optional<Node> vector, the encoding
// of [wire.RatchetTree] (blank nodes included).
func (t *Tree) MarshalChunk(c uint32) ([]byte, error) {
	if c >= t.NumChunks() {
		return nil, fmt.Errorf("chunk %d of %d: %w", c, t.NumChunks(), ErrOutOfRange)
	}
	lo := NodeIndex(c) * ChunkNodes
	return t.EncodeNodes(lo, lo+ChunkNodes), nil
}

// LoadChunks rebuilds a tree of width nodes from its chunks, in order, as
// written by [Tree.MarshalChunk]. The result has no recorded changes.
func LoadChunks(cs *suite.Suite, width uint32, chunks [][]byte) (*Tree, error) {
	n := treemath.LeafCount(width)
	if width == 0 || treemath.NodeWidth(n) != width || n&(n-1) != 0 || n > maxLeaves {
		return nil, fmt.Errorf("load tree: width %d: %w", width, ErrMalformed)
	}
	if want := (int(width) + ChunkNodes - 1) / ChunkNodes; len(chunks) != want {
		return nil, fmt.Errorf("load tree: %d chunks, want %d: %w", len(chunks), want, ErrMalformed)
	}
	t := &Tree{cs: cs, st: newStore(int(width))}
	for c, b := range chunks {
		var rt wire.RatchetTree
		if err := codec.Unmarshal(b, &rt); err != nil {
			return nil, fmt.Errorf("load tree chunk %d: %w", c, err)
		}
		lo := c * ChunkNodes
		if want := min(ChunkNodes, int(width)-lo); len(rt) != want {
			return nil, fmt.Errorf("load tree chunk %d: %d nodes, want %d: %w", c, len(rt), want, ErrMalformed)
		}
		for i, nd := range rt {
			if nd == nil {
				continue
			}
			x := NodeIndex(lo + i)
			if err := checkNodeType(x, nd); err != nil {
				return nil, fmt.Errorf("load tree chunk %d: %w", c, err)
			}
			t.st.mut(x).node = nd
		}
	}
	return t, nil
}
