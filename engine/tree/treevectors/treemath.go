package treevectors

import (
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/treemath"
)

// treeMathVector is one case of tree-math.json.
type treeMathVector struct {
	NLeaves uint32    `json:"n_leaves"`
	NNodes  uint32    `json:"n_nodes"`
	Root    uint32    `json:"root"`
	Left    []*uint32 `json:"left"`
	Right   []*uint32 `json:"right"`
	Parent  []*uint32 `json:"parent"`
	Sibling []*uint32 `json:"sibling"`
}

// treeMathCase checks node width, root and every node's left, right,
// parent and sibling.
func treeMathCase(v *treeMathVector) error {
	n := v.NLeaves
	if got := treemath.NodeWidth(n); got != v.NNodes {
		return fmt.Errorf("n=%d: NodeWidth = %d, want %d", n, got, v.NNodes)
	}
	if got := treemath.Root(n); uint32(got) != v.Root {
		return fmt.Errorf("n=%d: Root = %d, want %d", n, got, v.Root)
	}
	for _, field := range []struct {
		name string
		want []*uint32
		fn   func(x treemath.NodeIndex) (treemath.NodeIndex, bool)
	}{
		{"left", v.Left, treemath.Left},
		{"right", v.Right, treemath.Right},
		{"parent", v.Parent, func(x treemath.NodeIndex) (treemath.NodeIndex, bool) { return treemath.Parent(x, n) }},
		{"sibling", v.Sibling, func(x treemath.NodeIndex) (treemath.NodeIndex, bool) { return treemath.Sibling(x, n) }},
	} {
		if uint32(len(field.want)) != v.NNodes {
			return fmt.Errorf("n=%d: %s has %d entries, want %d", n, field.name, len(field.want), v.NNodes)
		}
		for i, want := range field.want {
			got, ok := field.fn(treemath.NodeIndex(i))
			if ok != (want != nil) || (ok && uint32(got) != *want) {
				return fmt.Errorf("n=%d: %s(%d) = %d (defined %v), want %s", n, field.name, i, got, ok, show(want))
			}
		}
	}
	return nil
}

func show(p *uint32) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}
