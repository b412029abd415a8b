package dirstore

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/atomicfile"
	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) uploader.ObjectStore {
		return newStore(t)
	})
}

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCheckKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"a", true},
		{"a/b/c.age", true},
		{"g/epoch=1 x+y", true},
		{".hidden", true},
		{"", false},
		{"/abs", false},
		{"a//b", false},
		{"a/", false},
		{"..", false},
		{"a/../b", false},
		{"./a", false},
		{"a/.", false},
		{`a\b`, false},
		{"a\x00b", false},
		{"\xff", false},
		{"a/" + atomicfile.TempPrefix + "x", false},
		{strings.Repeat("k", 1025), false},
	}
	for _, tc := range tests {
		err := CheckKey(tc.key)
		if got := err == nil; got != tc.want {
			t.Errorf("CheckKey(%q) = %v, want valid=%v", tc.key, err, tc.want)
		}
		if err != nil && !errors.Is(err, ErrInvalidKey) {
			t.Errorf("CheckKey(%q) = %v, want ErrInvalidKey", tc.key, err)
		}
	}
}

func TestInvalidKeysTouchNothing(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	outside := filepath.Join(filepath.Dir(s.Root()), "escaped")
	for _, key := range []string{"../escaped", "/tmp/escaped", "a/../../escaped"} {
		if err := s.Put(ctx, key, strings.NewReader("x"), 1, false); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("put %q: got %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.Get(ctx, key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("get %q: got %v, want ErrInvalidKey", key, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("delete %q: got %v, want ErrInvalidKey", key, err)
		}
	}
	if _, err := s.List(ctx, "../"); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("list ../: got %v, want ErrInvalidKey", err)
	}
	if _, err := os.Stat(outside); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a file was written outside the root: %v", err)
	}
}

func TestPermissions(t *testing.T) {
	s := newStore(t)
	if err := s.Put(t.Context(), "a/b/c", strings.NewReader("x"), 1, false); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(t.Context(), "a/d", strings.NewReader("x"), 1, true); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want fs.FileMode
	}{
		{s.Root(), 0o700},
		{filepath.Join(s.Root(), "a"), 0o700},
		{filepath.Join(s.Root(), "a", "b"), 0o700},
		{filepath.Join(s.Root(), "a", "b", "c"), 0o600},
		{filepath.Join(s.Root(), "a", "d"), 0o600},
	}
	for _, tc := range tests {
		fi, err := os.Stat(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != tc.want {
			t.Errorf("%s: mode %v, want %v", tc.path, got, tc.want)
		}
	}
}

func TestTempFilesIgnoredAndCleaned(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if err := s.Put(ctx, "g/obj", strings.NewReader("x"), 1, false); err != nil {
		t.Fatal(err)
	}
	oldTmp := filepath.Join(s.Root(), "g", atomicfile.TempPrefix+"obj2-dead")
	newTmp := filepath.Join(s.Root(), atomicfile.TempPrefix+"inflight")
	for _, p := range []string{oldTmp, newTmp} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(oldTmp, old, old); err != nil {
		t.Fatal(err)
	}
	got, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Key != "g/obj" {
		t.Fatalf("list: got %+v, want only g/obj", got)
	}
	for _, dryRun := range []bool{true, false} {
		got, err := s.CleanTemps(ctx, "", time.Now().Add(-time.Hour), dryRun)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"g/" + atomicfile.TempPrefix + "obj2-dead"}; !slices.Equal(got, want) {
			t.Fatalf("clean (dry run %v): got %v, want %v", dryRun, got, want)
		}
		if _, err := os.Stat(oldTmp); dryRun && err != nil {
			t.Fatalf("dry run removed the old temp file: %v", err)
		}
	}
	if got, err := s.CleanTemps(ctx, "other/", time.Now(), false); err != nil || len(got) != 0 {
		t.Fatalf("clean under another prefix: %v, %v; want nothing", got, err)
	}
	if _, err := os.Stat(oldTmp); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("old temp file survived: %v", err)
	}
	if _, err := os.Stat(newTmp); err != nil {
		t.Errorf("recent temp file was removed: %v", err)
	}
}

func TestRootRemoved(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if err := os.RemoveAll(s.Root()); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "k", strings.NewReader("x"), 1, false); !errors.Is(err, uploader.ErrNoBucket) {
		t.Errorf("put: got %v, want ErrNoBucket", err)
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, uploader.ErrNoBucket) {
		t.Errorf("get: got %v, want ErrNoBucket", err)
	}
	if _, err := s.Stat(ctx, "k"); !errors.Is(err, uploader.ErrNoBucket) {
		t.Errorf("stat: got %v, want ErrNoBucket", err)
	}
	if _, err := s.List(ctx, ""); !errors.Is(err, uploader.ErrNoBucket) {
		t.Errorf("list: got %v, want ErrNoBucket", err)
	}
	if _, err := os.Stat(s.Root()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("root was recreated: %v", err)
	}
}

func TestString(t *testing.T) {
	s := newStore(t)
	if got, want := s.String(), "file://"+filepath.ToSlash(s.Root()); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestCancelledPutLeavesNoTemp(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	src := storetest.NewStream(1, 4<<20)
	src.OnRead(func(total int64) {
		if total >= 1<<20 {
			cancel()
		}
	})
	for _, ifNoneMatch := range []bool{false, true} {
		if err := s.Put(ctx, "g/obj", src, -1, ifNoneMatch); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	}
	entries, err := os.ReadDir(filepath.Join(s.Root(), "g"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
}
