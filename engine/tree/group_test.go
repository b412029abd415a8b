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
	}
}
