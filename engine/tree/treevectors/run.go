// Package treevectors runs the official MLS interop test vectors that
// exercise tree math, the ratchet tree and TreeKEM (tree-math,
// tree-operations, tree-validation, treekem) against packages treemath and
// tree. It is a test helper, like testing/fstest: the packages' own tests
// and the engine's interop-vector test call [Run] with a file name.
package treevectors

import (
	"bytes"
	"crypto/fips140"
	"errors"
	"fmt"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/tree"
)

// Files returns the vector file names [Run] understands.
func Files() []string {
	return []string{"tree-math", "tree-operations", "tree-validation", "treekem"}
}

// Run loads the vector file name (without extension) through package
// vectors and checks every case, reporting each failure on t. It returns
// how many cases passed out of how many the file holds. An unknown name or
// an unreadable file fails t.
func Run(t testing.TB, name string) (passed, total int) {
	t.Helper()
	switch name {
	case "tree-math":
		return runFile(t, name, treeMathCase)
	case "tree-operations":
		return runFile(t, name, treeOperationsCase)
	case "tree-validation":
		return runFile(t, name, treeValidationCase)
	case "treekem":
		return runFile(t, name, treeKEMCase)
	}
	t.Fatalf("treevectors: no runner for vector file %q", name)
	return 0, 0
}

// runFile decodes the file into a slice of V and runs check on each case;
// check returns an error describing the first mismatch.
func runFile[V any](t testing.TB, name string, check func(v *V) error) (passed, total int) {
	t.Helper()
	var vs []V
	if err := vectors.Load(name, &vs); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(vs) == 0 {
		t.Fatalf("%s: no test cases", name)
	}
	refused := 0
	for i := range vs {
		if err := check(&vs[i]); err != nil {
			// In FIPS 140-only mode the cases of the suites it does not
			// approve must be refused.
			if fips140.Enforced() && errors.Is(err, suite.ErrNotFIPSApproved) {
				passed++
				refused++
				continue
			}
			t.Errorf("%s case %d: %v", name, i, err)
			continue
		}
		passed++
	}
	if refused > 0 {
		t.Logf("%s: %d cases refused as FIPS 140-only mode requires", name, refused)
	}
	return passed, len(vs)
}

// newSuite returns the suite of a vector case.
func newSuite(id uint16) (*suite.Suite, error) {
	return suite.New(suite.ID(id))
}

// decode parses an encoded ratchet tree of a vector case.
func decode(cs *suite.Suite, b []byte) (*tree.Tree, error) {
	tr, err := tree.Decode(cs, b)
	if err != nil {
		return nil, fmt.Errorf("decode tree: %w", err)
	}
	return tr, nil
}

// equal returns an error naming what differs unless got equals want.
func equal(what string, got, want []byte) error {
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%s = %x, want %x", what, got, want)
	}
	return nil
}
