package secrettree

import (
	"bytes"
	mrand "math/rand/v2"
	"testing"
)

// cowOp applies one random change to tr, ignoring generation errors (they
// leave the tree unchanged, as TestErrorsLeaveTreeUnchanged checks).
func cowOp(t *testing.T, rng *mrand.Rand, tr *Tree) {
	t.Helper()
	leaf := uint32(rng.IntN(int(tr.LeafCount())))
	ct := ContentType(rng.IntN(2))
	switch rng.IntN(6) {
	case 0:
		_, _, _, _ = tr.Next(leaf, ct)
	case 1:
		_ = tr.Consume(leaf, ct, uint32(rng.IntN(12)))
	case 2:
		_, _, _ = tr.KeyNonce(leaf, ct, uint32(rng.IntN(12)))
	case 3:
		_ = tr.AdvanceTo(leaf, ct, uint32(rng.IntN(12)))
	case 4:
		_ = tr.SetConfig(Config{MaxForward: 1024, MaxRetained: rng.IntN(6)})
	case 5:
		tr.TakeChanges()
	}
}

// TestCloneCopyOnWrite checks the copy-on-write Clone against deep copies
// taken through the encoding: after random changes to a tree, to its
// clones and to clones of clones, every tree encodes exactly as a fresh
// tree decoded from its own history would — no change leaks into a tree
// that shares memory with the one changed — and wiping one tree leaves the
// others' secrets intact.
func TestCloneCopyOnWrite(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(7, 9))
	for round := range 40 {
		trees := []*Tree{newTree(t, uint32(1+rng.IntN(12)), Config{MaxForward: 1024, MaxRetained: 4})}
		want := [][]byte{mustMarshal(t, trees[0])}
		for range 60 {
			i := rng.IntN(len(trees))
			if rng.IntN(4) == 0 && len(trees) < 6 {
				trees = append(trees, trees[i].Clone())
				want = append(want, want[i])
				continue
			}
			// Replay the change on a deep copy decoded from the expected
			// encoding, and compare.
			ref := new(Tree)
			if err := ref.UnmarshalBinary(want[i]); err != nil {
				t.Fatal(err)
			}
			seed := rng.Uint64()
			cowOp(t, mrand.New(mrand.NewPCG(seed, 1)), trees[i])
			cowOp(t, mrand.New(mrand.NewPCG(seed, 1)), ref)
			want[i] = mustMarshal(t, ref)
			for j, tr := range trees {
				if got := mustMarshal(t, tr); !bytes.Equal(got, want[j]) {
					t.Fatalf("round %d: tree %d differs from its own history after a change to tree %d", round, j, i)
				}
			}
		}
		w := rng.IntN(len(trees))
		trees[w].Wipe()
		for j, tr := range trees {
			if j != w && !bytes.Equal(mustMarshal(t, tr), want[j]) {
				t.Fatalf("round %d: wiping tree %d changed tree %d", round, w, j)
			}
		}
	}
}
