package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

func TestWriteReplacesAndCleansUp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := Write(fsx.OS{}, p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(fsx.OS{}, p, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	if string(got) != "two" {
		t.Fatalf("got %q want %q", got, "two")
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v want 0600", fi.Mode().Perm())
	}
	boom := errors.New("boom")
	err := WriteFrom(fsx.OS{}, p, 0o600, func(w io.Writer) error {
		_, _ = w.Write([]byte("partial"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v want boom", err)
	}
	got, _ = os.ReadFile(p)
	if string(got) != "two" {
		t.Fatalf("failed write changed file: %q", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("leftover files: %v", entries)
	}
}
