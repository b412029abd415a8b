package treevectors

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	errors, fatals []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.fatals = append(r.fatals, fmt.Sprintf(format, args...))
}

// TestRunDetectsMismatch runs a tree-math file whose second case has a
// wrong root, and an unknown file name: both must be reported.
func TestRunDetectsMismatch(t *testing.T) {
	var vs []treeMathVector
	if err := vectors.Load("tree-math", &vs); err != nil {
		t.Fatal(err)
	}
	vs[1].Root++
	dir := t.TempDir()
	b, err := json.Marshal(vs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tree-math.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(vectors.EnvDir, dir)
	r := &recorder{TB: t}
	passed, total := Run(r, "tree-math")
	if passed != total-1 || len(r.errors) != 1 {
		t.Errorf("tampered file: passed %d of %d with errors %q, want %d passed and one error", passed, total, r.errors, total-1)
	}
	r = &recorder{TB: t}
	if passed, _ := Run(r, "no-such-file"); passed != 0 || len(r.fatals) == 0 {
		t.Errorf("unknown file: passed %d, fatals %q; want a fatal", passed, r.fatals)
	}
}
