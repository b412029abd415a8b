package tree

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestGroupLifecycle drives a simulated group through adds, removes and
// path updates from different members, checking after each commit that
// every member's private keys match the tree, that the whole tree
// validates, and that the cached tree hash equals a fresh computation.
func TestGroupLifecycle(t *testing.T) {
	cs := mustSuite(t, 1)
	g := newGroup(t, cs)
	rng := rand.New(rand.NewPCG(1, 2))
	steps := []struct {
		committer LeafIndex
		add       int
		remove    []LeafIndex
	}{
		{0, 4, nil},
		{2, 0, nil},
		{1, 3, []LeafIndex{3}},
		{6, 1, nil},
		{0, 0, []LeafIndex{6, 7}},
		{4, 5, nil},
		{5, 0, []LeafIndex{1, 2}},
	}
	for i, s := range steps {
		g.commit(t, s.committer, s.add, s.remove)
		if err := g.tree.Validate(ValidateOptions{GroupID: testGroupID}); err != nil {
			t.Fatalf("step %d: validate: %v", i, err)
		}
		fresh := mustDecode(t, cs, g.tree.Encode())
		if got, want := g.tree.TreeHash(), fresh.TreeHash(); !bytes.Equal(got, want) {
			t.Fatalf("step %d: cached tree hash %x, fresh %x", i, got, want)
		}
		if got, want := g.tree.NumMembers(), len(g.members); got != want {
			t.Fatalf("step %d: %d members in tree, want %d", i, got, want)
		}
	}
	// A few random commits by random members.
	for i := range 10 {
		var ls []LeafIndex
		for l := range g.members {
			ls = append(ls, l)
		}
		committer := ls[rng.IntN(len(ls))]
		var remove []LeafIndex
		if len(ls) > 3 && i%3 == 0 {
			r := ls[rng.IntN(len(ls))]
			if r != committer {
				remove = append(remove, r)
			}
		}
		g.commit(t, committer, rng.IntN(3), remove)
		if err := g.tree.Validate(ValidateOptions{GroupID: testGroupID}); err != nil {
			t.Fatalf("random step %d: validate: %v", i, err)
		}
		if got, want := g.tree.TreeHash(), uncachedHash(g.tree, g.tree.Root()); !bytes.Equal(got, want) {
			t.Fatalf("random step %d: cached tree hash %x, from scratch %x", i, got, want)
		}
		// The chunks a store would write reproduce the tree.
		chunks := make([][]byte, g.tree.NumChunks())
		for c := range chunks {
			b, err := g.tree.MarshalChunk(uint32(c))
			if err != nil {
				t.Fatal(err)
			}
			chunks[c] = b
		}
		loaded, err := LoadChunks(cs, g.tree.Width(), chunks)
		if err != nil {
			t.Fatalf("random step %d: load chunks: %v", i, err)
		}
		if !bytes.Equal(loaded.TreeHash(), g.tree.TreeHash()) {
			t.Fatalf("random step %d: tree loaded from chunks differs", i)
		}
		g.tree.Mark()
	}
}

// TestExternalCommit has a joiner take a reserved leaf with its own path,
// which every member processes.
func TestExternalCommit(t *testing.T) {
	g := validGroup(t)
	cs := g.cs
	if err := g.tree.RemoveLeaf(2); err != nil {
		t.Fatal(err)
	}
	delete(g.members, 2)
	delete(g.keys, 2)
	for _, k := range g.keys {
		k.Prune(g.tree)
	}
	joiner := newMember(t, cs, "joiner")
	jt := g.tree.Clone()
	l := jt.ReserveLeaf()
	if l != 2 || !jt.IsBlank(l.Node()) {
		t.Fatalf("ReserveLeaf = %d (blank %v), want blank leaf 2", l, jt.IsBlank(l.Node()))
	}
	res, err := jt.CreateUpdatePath(PathParams{
		Sender: l, Leaf: joiner.leaf, SignaturePriv: joiner.sigPriv,
		GroupID: testGroupID, GroupContext: groupContext(cs),
	})
	if err != nil {
		t.Fatal(err)
	}
	for m, keys := range g.keys {
		tr := g.tree.Clone()
		if got := tr.ReserveLeaf(); got != l {
			t.Fatalf("member %d: ReserveLeaf = %d, want %d", m, got, l)
		}
		if err := tr.ApplyUpdatePath(l, res.Path); err != nil {
			t.Fatalf("member %d: apply: %v", m, err)
		}
		ctx, _ := groupContext(cs)(tr.TreeHash())
		d, err := tr.DecryptPath(keys, l, res.Path, nil, ctx)
		if err != nil {
			t.Fatalf("member %d: decrypt: %v", m, err)
		}
		if !bytes.Equal(d.CommitSecret, res.CommitSecret) {
			t.Fatalf("member %d: commit secret differs", m)
		}
		if err := tr.Validate(ValidateOptions{GroupID: testGroupID}); err != nil {
			t.Fatalf("member %d: validate: %v", m, err)
		}
	}
	// A full tree is extended for the joiner.
	full := New(cs, newMember(t, cs, "solo").leaf)
	if got := full.ReserveLeaf(); got != 1 || full.NumLeaves() != 2 {
		t.Errorf("ReserveLeaf on a full tree = %d with %d leaves, want 1 with 2", got, full.NumLeaves())
	}
}
