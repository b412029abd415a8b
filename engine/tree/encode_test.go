package tree

import (
	"bytes"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// TestEncodeCache checks that the per-node encoding cache never serves a
// stale node: after each kind of change, on the tree and on clones,
// [Tree.Encode], [Tree.EncodeNodes] and [Tree.MarshalChunk] equal a fresh
// encoding of the array form.
func TestEncodeCache(t *testing.T) {
	cs := mustSuite(t, 1)
	g := newGroup(t, cs)
	g.commit(t, 0, 12, nil)
	check := func(step string, tr *Tree) {
		t.Helper()
		if got, want := tr.Encode(), codec.Marshal(tr.RatchetTree()); !bytes.Equal(got, want) {
			t.Fatalf("%s: Encode differs from a fresh encoding (%d vs %d bytes)", step, len(got), len(want))
		}
		for _, r := range []struct{ lo, hi NodeIndex }{{0, 3}, {5, 17}, {16, 1000}, {40, 40}} {
			var want []byte
			if hi := min(r.hi, NodeIndex(tr.Width())); r.lo < hi {
				var rt wire.RatchetTree
				for x := r.lo; x < hi; x++ {
					rt = append(rt, tr.Node(x))
				}
				want = codec.Marshal(rt)
			} else {
				want = []byte{0}
			}
			if got := tr.EncodeNodes(r.lo, r.hi); !bytes.Equal(got, want) {
				t.Fatalf("%s: EncodeNodes(%d, %d) = %x, want %x", step, r.lo, r.hi, got, want)
			}
		}
		back := mustDecode(t, cs, tr.Encode())
		if !bytes.Equal(back.TreeHash(), tr.TreeHash()) {
			t.Fatalf("%s: decoded tree hash differs", step)
		}
	}
	check("after commit", g.tree)
	before := g.tree.Encode()
	c := g.tree.Clone()
	if err := c.UpdateLeaf(3, fakeLeaf(103)); err != nil {
		t.Fatal(err)
	}
	check("clone after update", c)
	if got := g.tree.Encode(); !bytes.Equal(got, before) {
		t.Fatal("original's encoding changed after updating its clone")
	}
	g.tree = c
	g.commit(t, 5, 0, []LeafIndex{3})
	check("after path commit with removal", g.tree)
	g.commit(t, 1, 0, []LeafIndex{12, 11, 10, 9})
	check("after truncating removals", g.tree)
	g.commit(t, 2, 20, nil)
	check("after growing", g.tree)
}
