package treemath_test

import (
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/tree/treevectors"
)

// TestVectors checks every case of tree-math.json.
func TestVectors(t *testing.T) {
	passed, total := treevectors.Run(t, "tree-math")
	t.Logf("tree-math: %d of %d cases passed", passed, total)
}
