package treemath

import (
	"slices"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
)

type treeMathVector struct {
	NLeaves uint32    `json:"n_leaves"`
	NNodes  uint32    `json:"n_nodes"`
	Root    uint32    `json:"root"`
	Left    []*uint32 `json:"left"`
	Right   []*uint32 `json:"right"`
	Parent  []*uint32 `json:"parent"`
	Sibling []*uint32 `json:"sibling"`
}

func opt(x NodeIndex, ok bool) *uint32 {
	if !ok {
		return nil
	}
	v := uint32(x)
	return &v
}

func eqOpt(a, b *uint32) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func show(p *uint32) any {
	if p == nil {
		return "null"
	}
	return *p
}

func TestVectors(t *testing.T) {
	var vs []treeMathVector
	if err := vectors.Load("tree-math", &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatal("no tree-math vectors")
	}
	for _, v := range vs {
		if got := NodeWidth(v.NLeaves); got != v.NNodes {
			t.Errorf("n=%d: NodeWidth = %d, want %d", v.NLeaves, got, v.NNodes)
		}
		if got := LeafCount(v.NNodes); got != v.NLeaves {
			t.Errorf("n=%d: LeafCount = %d, want %d", v.NLeaves, got, v.NLeaves)
		}
		if got := Root(v.NLeaves); uint32(got) != v.Root {
			t.Errorf("n=%d: Root = %d, want %d", v.NLeaves, got, v.Root)
		}
		for i := range v.NNodes {
			x := NodeIndex(i)
			checks := []struct {
				name string
				got  *uint32
				want []*uint32
			}{
				{"left", opt(Left(x)), v.Left},
				{"right", opt(Right(x)), v.Right},
				{"parent", opt(Parent(x, v.NLeaves)), v.Parent},
				{"sibling", opt(Sibling(x, v.NLeaves)), v.Sibling},
			}
			for _, c := range checks {
				if int(i) >= len(c.want) {
					t.Fatalf("n=%d: %s has %d entries, want %d", v.NLeaves, c.name, len(c.want), v.NNodes)
				}
				if !eqOpt(c.got, c.want[i]) {
					t.Errorf("n=%d: %s(%d) = %v, want %v", v.NLeaves, c.name, i, show(c.got), show(c.want[i]))
				}
			}
		}
	}
	t.Logf("tree-math: %d cases passed", len(vs))
}

func TestPaths(t *testing.T) {
	// The five-member tree of RFC 9420 §4.1.2 (8 leaves).
	tests := []struct {
		leaf       LeafIndex
		wantDirect []NodeIndex
		wantCopath []NodeIndex
	}{
		{0, []NodeIndex{1, 3, 7}, []NodeIndex{2, 5, 11}},
		{1, []NodeIndex{1, 3, 7}, []NodeIndex{0, 5, 11}},
		{4, []NodeIndex{9, 11, 7}, []NodeIndex{10, 13, 3}},
		{6, []NodeIndex{13, 11, 7}, []NodeIndex{14, 9, 3}},
	}
	for _, tt := range tests {
		if got := DirectPath(tt.leaf.Node(), 8); !slices.Equal(got, tt.wantDirect) {
			t.Errorf("DirectPath(leaf %d) = %v, want %v", tt.leaf, got, tt.wantDirect)
		}
		if got := Copath(tt.leaf.Node(), 8); !slices.Equal(got, tt.wantCopath) {
			t.Errorf("Copath(leaf %d) = %v, want %v", tt.leaf, got, tt.wantCopath)
		}
	}
	if got := DirectPath(Root(8), 8); len(got) != 0 {
		t.Errorf("DirectPath(root) = %v, want empty", got)
	}
	if got := DirectPath(15, 8); got != nil {
		t.Errorf("DirectPath(outside) = %v, want nil", got)
	}
	if got := Copath(0, 1); got != nil {
		t.Errorf("Copath(single leaf) = %v, want nil", got)
	}
}

// commonAncestorSemantic is the set-based definition of Appendix C.
func commonAncestorSemantic(x, y NodeIndex, n uint32) NodeIndex {
	dx := append([]NodeIndex{x}, DirectPath(x, n)...)
	dy := append([]NodeIndex{y}, DirectPath(y, n)...)
	for _, a := range dx {
		if slices.Contains(dy, a) {
			return a // dx is ordered bottom-up, so the first hit is lowest
		}
	}
	return Root(n)
}

func TestCommonAncestor(t *testing.T) {
	const n = 32
	w := NodeWidth(n)
	for x := range NodeIndex(w) {
		for y := range NodeIndex(w) {
			want := commonAncestorSemantic(x, y, n)
			if got := CommonAncestor(x, y); got != want {
				t.Fatalf("CommonAncestor(%d, %d) = %d, want %d", x, y, got, want)
			}
			if got := IsAncestor(want, x) && IsAncestor(want, y); !got {
				t.Fatalf("IsAncestor(%d, {%d,%d}) = false, want true", want, x, y)
			}
		}
	}
}

func TestLeafNode(t *testing.T) {
	tests := []struct {
		x        NodeIndex
		wantLeaf LeafIndex
		wantOK   bool
	}{
		{0, 0, true}, {1, 0, false}, {6, 3, true}, {7, 0, false},
	}
	for _, tt := range tests {
		l, ok := tt.x.Leaf()
		if l != tt.wantLeaf || ok != tt.wantOK {
			t.Errorf("NodeIndex(%d).Leaf() = %d,%v, want %d,%v", tt.x, l, ok, tt.wantLeaf, tt.wantOK)
		}
		if ok && l.Node() != tt.x {
			t.Errorf("LeafIndex(%d).Node() = %d, want %d", l, l.Node(), tt.x)
		}
	}
	levels := map[NodeIndex]uint{0: 0, 1: 1, 3: 2, 5: 1, 7: 3, 11: 2, 15: 4}
	for x, want := range levels {
		if got := Level(x); got != want {
			t.Errorf("Level(%d) = %d, want %d", x, got, want)
		}
	}
	if lo, hi := SubtreeRange(11); lo != 8 || hi != 14 {
		t.Errorf("SubtreeRange(11) = %d..%d, want 8..14", lo, hi)
	}
}
