package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

func TestCreateOnlyIfAbsent(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := Create(fsx.OS{}, p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := Create(fsx.OS{}, p, []byte("two"), 0o600)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second create: got %v, want fs.ErrExist", err)
	}
	got, _ := os.ReadFile(p)
	if string(got) != "one" {
		t.Fatalf("content %q, want %q", got, "one")
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v want 0600", fi.Mode().Perm())
	}
	assertOnly(t, dir, "f")
}

func TestCreateFillFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	boom := errors.New("boom")
	err := CreateFrom(fsx.OS{}, p, 0o600, func(w io.Writer) error {
		_, _ = w.Write([]byte("partial"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v want boom", err)
	}
	assertOnly(t, dir)
}

func TestCreateConcurrentExactlyOneWins(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = Create(fsx.OS{}, p, []byte{byte('a' + i)}, 0o600)
		})
	}
	wg.Wait()
	winner, exists := -1, 0
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("writers %d and %d both won", winner, i)
			}
			winner = i
		case errors.Is(err, fs.ErrExist):
			exists++
		default:
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	if winner < 0 || exists != n-1 {
		t.Fatalf("winner %d, %d ErrExist; want one winner and %d ErrExist", winner, exists, n-1)
	}
	got, _ := os.ReadFile(p)
	if want := string(rune('a' + winner)); string(got) != want {
		t.Fatalf("content %q, want the winner's %q", got, want)
	}
	assertOnly(t, dir, "f")
}

// assertOnly checks that dir holds exactly the named entries.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if len(got) != len(names) {
		t.Fatalf("dir holds %v, want %v", got, names)
	}
	for i := range got {
		if got[i] != names[i] {
			t.Fatalf("dir holds %v, want %v", got, names)
		}
	}
}
