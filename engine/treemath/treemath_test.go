package treemath

import (
	"slices"
	"testing"
)

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
