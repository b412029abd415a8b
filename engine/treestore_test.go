package engine

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/treemath"
)

// TestTreeChunkLayout checks, for trees of 1 to 2^14 leaves, that the
// chunks of the layout hold every node exactly once, at most 15 per chunk,
// that treeChunkOf agrees with the chunks' node lists, and that a leaf's
// direct path spans at most one chunk per four levels.
func TestTreeChunkLayout(t *testing.T) {
	for leaves := uint32(1); leaves <= 1<<14; leaves *= 2 {
		width := treemath.NodeWidth(leaves)
		ws := treeFamilyWidths(width)
		seen := make([]int, width)
		for _, c := range allTreeChunks(width) {
			xs := c.nodes(ws[c.family])
			if len(xs) == 0 || len(xs) > treeUpSlot {
				t.Fatalf("width %d: chunk %+v holds %d nodes", width, c, len(xs))
			}
			for _, x := range xs {
				if uint32(x) >= width {
					t.Fatalf("width %d: chunk %+v holds node %d", width, c, x)
				}
				if got := treeChunkOf(uint32(x)); got != c {
					t.Fatalf("width %d: node %d is in chunk %+v, treeChunkOf says %+v", width, x, c, got)
				}
				seen[x]++
			}
		}
		for x, n := range seen {
			if n != 1 {
				t.Fatalf("width %d: node %d stored %d times", width, x, n)
			}
		}
		levels := int(treemath.Level(treemath.Root(leaves))) + 1
		for _, l := range []uint32{0, leaves / 2, leaves - 1} {
			chunks := map[treeChunk]bool{treeChunkOf(uint32(treemath.LeafIndex(l).Node())): true}
			for _, p := range treemath.DirectPath(treemath.LeafIndex(l).Node(), leaves) {
				chunks[treeChunkOf(uint32(p))] = true
			}
			if want := (levels + 3) / 4; len(chunks) > want {
				t.Errorf("%d leaves: leaf %d's path spans %d chunks, want at most %d", leaves, l, len(chunks), want)
			}
		}
	}
}

// TestLegacyTreeLayout stores a group's tree the way stores before the
// current layout did (state/tree_<c>, context record version 1), loads the
// group, and checks that it works and that its next transition rewrites the
// tree in the current layout with nothing of the old one left.
func TestLegacyTreeLayout(t *testing.T) {
	ctx := context.Background()
	a, b := twoMembers(t, Options{})
	var more []*member
	for i := range 20 {
		m := newMember(string(rune('c' + i)))
		out := commitAndDeliver(t, a, CommitOptions{Add: [][]byte{m.keyPackage(t, suite1)}}, b)
		var err error
		if m.g, err = m.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
			t.Fatal(err)
		}
		for _, o := range more {
			deliver(t, out.Commit, o)
		}
		more = append(more, m)
	}
	gid := b.g.GroupID()
	toLegacy(t, b.st, gid, b.g.s)

	loaded, err := LoadGroup(ctx, b.st, gid, Options{})
	if err != nil {
		t.Fatalf("load legacy layout: %v", err)
	}
	if !loaded.s.legacyTree || !bytes.Equal(loaded.s.tree.TreeHash(), b.g.s.tree.TreeHash()) {
		t.Fatalf("legacy load: legacy %v, same tree %v", loaded.s.legacyTree, bytes.Equal(loaded.s.tree.TreeHash(), b.g.s.tree.TreeHash()))
	}
	b.g = loaded
	// A message does not touch the tree; the layout stays as it is.
	msg, err := b.g.Encrypt(ctx, []byte("hi"), nil)
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, msg, append([]*member{a}, more...)...)
	commitAndDeliver(t, b, CommitOptions{SelfUpdate: true}, append([]*member{a}, more...)...)
	names, err := b.st.List(ctx, gid, KindState)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.HasPrefix(n, "tree_") {
			t.Errorf("layout-1 chunk %s left after a transition", n)
		}
	}
	again, err := LoadGroup(ctx, b.st, gid, Options{})
	if err != nil {
		t.Fatalf("load after conversion: %v", err)
	}
	if again.s.legacyTree || !bytes.Equal(again.EpochAuthenticator(), a.g.EpochAuthenticator()) {
		t.Fatalf("after conversion: legacy %v, epoch authenticator agrees %v", again.s.legacyTree, bytes.Equal(again.EpochAuthenticator(), a.g.EpochAuthenticator()))
	}
	b.g = again
	commitAndDeliver(t, a, CommitOptions{SelfUpdate: true}, append([]*member{b}, more...)...)
	if !bytes.Equal(b.g.EpochAuthenticator(), a.g.EpochAuthenticator()) {
		t.Fatal("epoch authenticators differ after the next commit")
	}
}

// toLegacy rewrites group gid's stored tree in layout 1.
func toLegacy(t *testing.T, st *MemStorage, gid []byte, s *groupState) {
	t.Helper()
	ctx := context.Background()
	names, err := st.List(ctx, gid, KindState)
	if err != nil {
		t.Fatal(err)
	}
	b := &Batch{Op: "legacy", Group: gid}
	for _, n := range names {
		if strings.HasPrefix(n, "nodes_") {
			b.Deletes = append(b.Deletes, Key{Group: gid, Kind: KindState, Name: n})
		}
	}
	width := s.tree.Width()
	for c := range legacyTreeChunks(width) {
		lo := tree.NodeIndex(c * treeChunkNodes)
		b.Puts = append(b.Puts, Put{Key: Key{Group: gid, Kind: KindState, Name: legacyTreeChunkName(c)},
			Value: s.tree.EncodeNodes(lo, lo+treeChunkNodes)})
	}
	cr, err := getComponent(ctx, st, gid, KindState, nameContext)
	if err != nil {
		t.Fatal(err)
	}
	var rec contextRecord
	if err := codec.Unmarshal(cr, &rec); err != nil || rec.legacyTree {
		t.Fatalf("context record: %v (legacy %v)", err, rec.legacyTree)
	}
	rec.legacyTree = true
	b.Puts = append(b.Puts, Put{Key: Key{Group: gid, Kind: KindState, Name: nameContext}, Value: codec.Marshal(rec)})
	if err := st.Apply(ctx, b); err != nil {
		t.Fatal(err)
	}
}
