package tree

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/treemath"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// buildTree makes a tree from a picture: leaves lists which leaves are
// set, parents maps parent node indices to their unmerged leaves.
func buildTree(t *testing.T, nLeaves int, leaves []int, parents map[NodeIndex][]uint32) *Tree {
	t.Helper()
	rt := make(wire.RatchetTree, 2*nLeaves-1)
	for _, l := range leaves {
		rt[2*l] = leafNode(fakeLeaf(l))
	}
	for p, um := range parents {
		rt[p] = parentNode(&wire.ParentNode{EncryptionKey: fakeLeaf(int(p)).EncryptionKey, ParentHash: []byte{}, UnmergedLeaves: um})
	}
	for len(rt) > 0 && rt[len(rt)-1] == nil {
		rt = rt[:len(rt)-1]
	}
	tr, err := FromRatchetTree(mustSuite(t, 1), rt)
	if err != nil {
		t.Fatalf("build tree: %v", err)
	}
	return tr
}

func TestResolution(t *testing.T) {
	// RFC 9420 §4.1.1, "A Tree with Blanks and Unmerged Leaves":
	// X = node 3 with unmerged B (leaf 1), Y = node 9.
	tr := buildTree(t, 8, []int{0, 1, 3, 4, 5, 7}, map[NodeIndex][]uint32{3: {1}, 9: {}})
	tests := []struct {
		node    NodeIndex
		exclude []LeafIndex
		want    []NodeIndex
	}{
		{3, nil, []NodeIndex{3, 2}},
		{4, nil, nil},
		{12, nil, nil},
		{7, nil, []NodeIndex{3, 2, 9, 14}},
		{7, []LeafIndex{1, 7}, []NodeIndex{3, 9}},
		{11, nil, []NodeIndex{9, 14}},
		{13, []LeafIndex{7}, nil},
	}
	for _, tt := range tests {
		if got := tr.Resolution(tt.node, tt.exclude); !slices.Equal(got, tt.want) {
			t.Errorf("Resolution(%d, exclude %v) = %v, want %v", tt.node, tt.exclude, got, tt.want)
		}
	}
}

func TestFilteredDirectPath(t *testing.T) {
	// RFC 9420 §4.1.2, "A Complete Tree with Five Members": T=1, X=9, Y=11, W=7.
	tr := buildTree(t, 8, []int{0, 1, 4, 5, 6}, map[NodeIndex][]uint32{1: {}, 9: {}, 11: {}, 7: {}})
	tests := []struct {
		leaf LeafIndex
		want []NodeIndex
	}{
		{0, []NodeIndex{1, 7}},
		{1, []NodeIndex{1, 7}},
		{4, []NodeIndex{9, 11, 7}},
		{5, []NodeIndex{9, 11, 7}},
		{6, []NodeIndex{11, 7}},
	}
	for _, tt := range tests {
		var got []NodeIndex
		for _, s := range tr.FilteredDirectPath(tt.leaf) {
			got = append(got, s.Node)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("FilteredDirectPath(%d) = %v, want %v", tt.leaf, got, tt.want)
		}
	}
}

func TestAddRemoveTruncate(t *testing.T) {
	cs := mustSuite(t, 1)
	tr := New(cs, fakeLeaf(0))
	for i := 1; i < 5; i++ {
		if got := tr.AddLeaf(fakeLeaf(i)); got != LeafIndex(i) {
			t.Fatalf("AddLeaf #%d = %d, want %d", i, got, i)
		}
	}
	if got, want := tr.NumLeaves(), uint32(8); got != want {
		t.Fatalf("NumLeaves = %d, want %d", got, want)
	}
	// A non-blank parent above a later add gets it as unmerged leaf.
	tr.setNode(11, parentNode(&wire.ParentNode{EncryptionKey: []byte("k11"), ParentHash: []byte{}, UnmergedLeaves: []uint32{}}))
	tr.setNode(7, parentNode(&wire.ParentNode{EncryptionKey: []byte("k7"), ParentHash: []byte{}, UnmergedLeaves: []uint32{4}}))
	if got := tr.AddLeaf(fakeLeaf(5)); got != 5 {
		t.Fatalf("AddLeaf = %d, want 5", got)
	}
	if got, want := tr.Parent(11).UnmergedLeaves, []uint32{5}; !slices.Equal(got, want) {
		t.Errorf("unmerged at 11 = %v, want %v", got, want)
	}
	if got, want := tr.Parent(7).UnmergedLeaves, []uint32{4, 5}; !slices.Equal(got, want) {
		t.Errorf("unmerged at 7 = %v, want %v", got, want)
	}
	// Removing a middle leaf leaves a hole that the next add fills.
	if err := tr.RemoveLeaf(2); err != nil {
		t.Fatal(err)
	}
	if !tr.IsBlank(5) || !tr.IsBlank(3) || !tr.IsBlank(7) {
		t.Errorf("direct path of removed leaf 2 not blanked")
	}
	if got := tr.LeftmostBlankLeaf(); got != 2 {
		t.Errorf("LeftmostBlankLeaf = %d, want 2", got)
	}
	// Removing the right half truncates to four leaves.
	for _, l := range []LeafIndex{5, 4} {
		if err := tr.RemoveLeaf(l); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := tr.NumLeaves(), uint32(4); got != want {
		t.Errorf("NumLeaves after removals = %d, want %d", got, want)
	}
	if err := tr.RemoveLeaf(2); !errors.Is(err, ErrBlank) {
		t.Errorf("RemoveLeaf(blank) error = %v, want ErrBlank", err)
	}
	if err := tr.RemoveLeaf(9); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("RemoveLeaf(9) error = %v, want ErrOutOfRange", err)
	}
	if err := tr.UpdateLeaf(3, fakeLeaf(33)); err != nil {
		t.Fatal(err)
	}
	// Remove everything but leaf 0: one leaf remains.
	for _, l := range []LeafIndex{3, 1} {
		if err := tr.RemoveLeaf(l); err != nil {
			t.Fatal(err)
		}
	}
	if got := tr.NumLeaves(); got != 1 {
		t.Errorf("NumLeaves = %d, want 1", got)
	}
}

func TestCloneIsIndependent(t *testing.T) {
	cs := mustSuite(t, 1)
	tr := New(cs, fakeLeaf(0))
	for i := 1; i < 300; i++ {
		tr.AddLeaf(fakeLeaf(i))
	}
	before := tr.Encode()
	hashBefore := tr.TreeHash()
	c := tr.Clone()
	for _, l := range []LeafIndex{0, 77, 200, 299} {
		if err := c.UpdateLeaf(l, fakeLeaf(1000+int(l))); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.RemoveLeaf(299); err != nil {
		t.Fatal(err)
	}
	c.AddLeaf(fakeLeaf(5000))
	if got := tr.Encode(); !bytes.Equal(got, before) {
		t.Fatal("original tree changed after modifying its clone")
	}
	if got := tr.TreeHash(); !bytes.Equal(got, hashBefore) {
		t.Fatal("original tree hash changed after modifying its clone")
	}
	// And the other way round.
	cloneBefore := c.Encode()
	tr.AddLeaf(fakeLeaf(6000))
	if got := c.Encode(); !bytes.Equal(got, cloneBefore) {
		t.Fatal("clone changed after modifying the original")
	}
	if got, want := c.TreeHash(), mustDecode(t, cs, cloneBefore).TreeHash(); !bytes.Equal(got, want) {
		t.Fatalf("clone's cached tree hash %x, fresh %x", got, want)
	}
}

func TestFromRatchetTreeRejects(t *testing.T) {
	cs := mustSuite(t, 1)
	leaf := leafNode(fakeLeaf(0))
	parent := parentNode(&wire.ParentNode{EncryptionKey: []byte("k")})
	tests := []struct {
		name string
		rt   wire.RatchetTree
	}{
		{"empty", wire.RatchetTree{}},
		{"trailing blank", wire.RatchetTree{leaf, nil, nil}},
		{"parent at leaf", wire.RatchetTree{parent}},
		{"leaf at parent", wire.RatchetTree{leaf, leaf, leaf}},
		{"leaf without body", wire.RatchetTree{{NodeType: wire.NodeTypeLeaf}}},
	}
	for _, tt := range tests {
		if _, err := FromRatchetTree(cs, tt.rt); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error = %v, want ErrMalformed", tt.name, err)
		}
	}
	if _, err := Decode(cs, []byte{0x05, 0x01}); err == nil {
		t.Error("Decode of truncated input succeeded")
	}
	// A valid five-node prefix is padded to seven nodes.
	tr, err := FromRatchetTree(cs, wire.RatchetTree{leaf, nil, leafNode(fakeLeaf(1)), nil, leafNode(fakeLeaf(2))})
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.Width(); got != 7 {
		t.Errorf("width = %d, want 7", got)
	}
	if got := tr.NodeHash(7); got != nil {
		t.Errorf("NodeHash(outside) = %x, want nil", got)
	}
	if got := tr.Resolution(9, nil); got != nil {
		t.Errorf("Resolution(outside) = %v, want nil", got)
	}
	if got := len(tr.RatchetTree()); got != 5 {
		t.Errorf("RatchetTree has %d nodes, want 5 (no trailing blanks)", got)
	}
	// An even-length array ends with a parent: the tree needs two leaves.
	tr, err = FromRatchetTree(cs, wire.RatchetTree{leaf, parent})
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.Width(); got != 3 {
		t.Errorf("width of [leaf, parent] = %d, want 3", got)
	}
}

func TestPersistChunks(t *testing.T) {
	cs := mustSuite(t, 1)
	tr := New(cs, fakeLeaf(0))
	for i := 1; i < 700; i++ {
		tr.AddLeaf(fakeLeaf(i))
	}
	// The store's view: chunks written so far.
	stored := map[uint32][]byte{}
	persist := func() {
		for _, c := range tr.ChangedChunks() {
			b, err := tr.MarshalChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			stored[c] = b
		}
		for c := range stored {
			if c >= tr.NumChunks() {
				delete(stored, c)
			}
		}
		tr.Mark()
	}
	load := func() *Tree {
		chunks := make([][]byte, tr.NumChunks())
		for c := range chunks {
			chunks[c] = stored[uint32(c)]
		}
		got, err := LoadChunks(cs, tr.Width(), chunks)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	persist()
	if got := load(); !bytes.Equal(got.Encode(), tr.Encode()) {
		t.Fatal("loaded tree differs after first persist")
	}
	// One update touches only the chunks of one path.
	if err := tr.UpdateLeaf(300, fakeLeaf(3000)); err != nil {
		t.Fatal(err)
	}
	if got := tr.ChangedChunks(); len(got) == 0 || len(got) > 3 {
		t.Errorf("ChangedChunks after one update = %v, want 1..3 chunks", got)
	}
	persist()
	if got := load(); !bytes.Equal(got.Encode(), tr.Encode()) {
		t.Fatal("loaded tree differs after update")
	}
	// Shrinking drops chunks and rewrites the last one.
	for l := LeafIndex(699); l >= 200; l-- {
		if err := tr.RemoveLeaf(l); err != nil {
			t.Fatal(err)
		}
	}
	if !tr.WidthChanged() {
		t.Error("WidthChanged = false after truncation")
	}
	persist()
	if got := load(); !bytes.Equal(got.Encode(), tr.Encode()) || !bytes.Equal(got.TreeHash(), tr.TreeHash()) {
		t.Fatal("loaded tree differs after truncation")
	}
	if _, err := LoadChunks(cs, 6, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("LoadChunks(width 6) error = %v, want ErrMalformed", err)
	}
	if _, err := tr.MarshalChunk(tr.NumChunks()); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("MarshalChunk(out of range) error = %v, want ErrOutOfRange", err)
	}
}

func TestPrivateKeysEncoding(t *testing.T) {
	k := NewPrivateKeys(3, KeyPair{Priv: []byte("leafpriv"), Pub: []byte("leafpub")})
	k.SetKey(5, KeyPair{Priv: []byte("p5"), Pub: []byte("q5")})
	k.SetKey(3, KeyPair{Priv: []byte("p3"), Pub: []byte("q3")})
	b := codec.Marshal(k)
	var got PrivateKeys
	if err := codec.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Leaf() != 3 || !slices.Equal(got.Nodes(), []NodeIndex{3, 5, 6}) {
		t.Fatalf("decoded leaf %d nodes %v, want 3 [3 5 6]", got.Leaf(), got.Nodes())
	}
	if kp, _ := got.Key(6); string(kp.Priv) != "leafpriv" || string(kp.Pub) != "leafpub" {
		t.Errorf("decoded leaf key %q/%q", kp.Priv, kp.Pub)
	}
	if !bytes.Equal(codec.Marshal(&got), b) {
		t.Error("re-encoding differs")
	}
	// Nodes out of order are rejected.
	var w codec.Writer
	w.Uint32(0)
	w.Vector(func(w *codec.Writer) {
		for _, x := range []uint32{5, 3} {
			w.Uint32(x)
			w.Opaque([]byte("a"))
			w.Opaque([]byte("b"))
		}
	})
	if err := codec.Unmarshal(w.Bytes(), &got); !errors.Is(err, codec.ErrInvalid) {
		t.Errorf("unordered nodes: error = %v, want codec.ErrInvalid", err)
	}
}

func TestIsqrt(t *testing.T) {
	for n := range 2000 {
		r := isqrt(n)
		if r*r > n || (r+1)*(r+1) <= n {
			t.Fatalf("isqrt(%d) = %d", n, r)
		}
	}
}

// TestKeyIndexAcrossClones checks the shared key index against a scan of
// the tree after many changes in a tree and its clones.
func TestKeyIndexAcrossClones(t *testing.T) {
	cs := mustSuite(t, 1)
	tr := New(cs, fakeLeaf(0))
	for i := 1; i < 64; i++ {
		tr.AddLeaf(fakeLeaf(i))
	}
	tr.HasEncryptionKey(nil) // build the index
	trees := []*Tree{tr}
	for round := range 400 {
		cur := trees[len(trees)-1]
		if round%7 == 0 {
			cur = cur.Clone()
			trees = append(trees, cur)
		}
		l := LeafIndex(round % 64)
		if cur.Leaf(l) == nil {
			cur.AddLeaf(fakeLeaf(round))
		} else if round%5 == 0 && l != 0 {
			if err := cur.RemoveLeaf(l); err != nil {
				t.Fatal(err)
			}
		} else if err := cur.UpdateLeaf(l, fakeLeaf(round)); err != nil {
			t.Fatal(err)
		}
	}
	for i, tr := range trees {
		for x := range tr.Width() {
			n := tr.Node(NodeIndex(x))
			if n == nil {
				continue
			}
			if n.Leaf != nil && (tr.keyCount(kindEncryption, n.Leaf.EncryptionKey) != 1 || tr.keyCount(kindSignature, n.Leaf.SignatureKey) != 1) {
				t.Fatalf("tree %d: leaf %d keys not counted once", i, x/2)
			}
		}
		if got, want := tr.idx().members, tr.NumMembers(); got != want {
			t.Fatalf("tree %d: index counts %d members, want %d", i, got, want)
		}
		if tr.HasEncryptionKey(fakeLeaf(0).EncryptionKey) {
			t.Fatalf("tree %d: unknown key reported present", i)
		}
	}
}

// uncachedHash computes the tree hash of x from scratch, as a reference.
func uncachedHash(tr *Tree, x NodeIndex) []byte {
	var scratch []byte
	if l, ok := x.Leaf(); ok {
		return tr.leafHash(&scratch, l, tr.Leaf(l))
	}
	left, _ := treemath.Left(x)
	right, _ := treemath.Right(x)
	return tr.parentHashInput(&scratch, tr.Parent(x), uncachedHash(tr, left), uncachedHash(tr, right))
}

// TestTreeHashParallelAndCached checks the parallel first hashing of a
// large tree and the cached re-hashing after changes against a from-scratch
// computation.
func TestTreeHashParallelAndCached(t *testing.T) {
	cs := mustSuite(t, 1)
	tr := New(cs, fakeLeaf(0))
	for i := 1; i < 3000; i++ {
		tr.AddLeaf(fakeLeaf(i))
	}
	if tr.Width() < parallelHashWidth {
		t.Fatalf("width %d does not exercise parallel hashing", tr.Width())
	}
	fresh := mustDecode(t, cs, tr.Encode())
	if got, want := fresh.TreeHash(), uncachedHash(tr, tr.Root()); !bytes.Equal(got, want) {
		t.Fatalf("parallel tree hash %x, want %x", got, want)
	}
	c := fresh.Clone()
	for _, l := range []LeafIndex{5, 1500, 2999} {
		if err := c.UpdateLeaf(l, fakeLeaf(10000+int(l))); err != nil {
			t.Fatal(err)
		}
		if got, want := c.TreeHash(), uncachedHash(c, c.Root()); !bytes.Equal(got, want) {
			t.Fatalf("after updating leaf %d: cached tree hash %x, want %x", l, got, want)
		}
	}
	if got, want := fresh.TreeHash(), uncachedHash(fresh, fresh.Root()); !bytes.Equal(got, want) {
		t.Fatal("original's tree hash changed with its clone")
	}
}

// TestClonesConcurrently mutates two clones of one tree in parallel (run
// with -race to check that they share nothing mutable).
func TestClonesConcurrently(t *testing.T) {
	cs := mustSuite(t, 1)
	tr := New(cs, fakeLeaf(0))
	for i := 1; i < 200; i++ {
		tr.AddLeaf(fakeLeaf(i))
	}
	tr.TreeHash()
	a, b := tr.Clone(), tr.Clone()
	done := make(chan []byte)
	for _, c := range []*Tree{a, b} {
		go func() {
			for l := LeafIndex(0); l < 200; l += 7 {
				if err := c.UpdateLeaf(l, fakeLeaf(int(l)+500)); err != nil {
					t.Error(err)
				}
				c.HasEncryptionKey(nil)
			}
			done <- c.TreeHash()
		}()
	}
	h1, h2 := <-done, <-done
	if bytes.Equal(h1, h2) {
		t.Error("clones with different random leaves have equal tree hashes")
	}
	for _, c := range []*Tree{a, b} {
		if got, want := c.TreeHash(), uncachedHash(c, c.Root()); !bytes.Equal(got, want) {
			t.Error("clone's cached hash differs from a fresh computation")
		}
	}
}

// TestRehashIsLogarithmic checks that changing one leaf invalidates exactly
// the hashes of the leaf and its ancestors, so re-hashing costs one hash
// per level: 11 at 1,000 members, 15 at 10,000.
func TestRehashIsLogarithmic(t *testing.T) {
	cs := mustSuite(t, 1)
	tests := []struct {
		members    int
		wantRehash int
	}{
		{1000, 11},
		{10000, 15},
	}
	for _, tt := range tests {
		rt := make(wire.RatchetTree, 2*tt.members-1)
		for i := range tt.members {
			rt[2*i] = leafNode(fakeLeaf(i))
		}
		tr, err := FromRatchetTree(cs, rt)
		if err != nil {
			t.Fatal(err)
		}
		tr.TreeHash()
		if err := tr.SetLeaf(LeafIndex(tt.members/2), fakeLeaf(-1)); err != nil {
			t.Fatal(err)
		}
		stale := 0
		for x := range tr.Width() {
			if tr.st.at(NodeIndex(x)).hash == nil {
				stale++
			}
		}
		if stale != tt.wantRehash {
			t.Errorf("n=%d: %d hashes to recompute after one leaf change, want %d", tt.members, stale, tt.wantRehash)
		}
	}
}
