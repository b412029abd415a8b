package tree_test

import (
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/tree/treevectors"
)

// TestVectors runs the tree-operations, tree-validation and treekem interop
// vector files, every case and every cipher suite, one subtest per file.
func TestVectors(t *testing.T) {
	for _, name := range []string{"tree-operations", "tree-validation", "treekem"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			passed, total := treevectors.Run(t, name)
			t.Logf("%s: %d of %d cases passed", name, passed, total)
		})
	}
}
