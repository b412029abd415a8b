package testenv

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Tree describes every file and directory below root, root included, by
// its path relative to root: mode, modification time and, for a regular
// file, content. Two equal Trees mean nothing below root changed. It is nil
// when root does not exist.
func Tree(t testing.TB, root string) map[string]string {
	t.Helper()
	if _, err := os.Lstat(root); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	tree := map[string]string{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		v := fi.Mode().String() + " " + fi.ModTime().String()
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += " " + string(b)
		}
		tree[rel] = v
		return nil
	})
	if err != nil {
		t.Fatalf("describe %s: %v", root, err)
	}
	return tree
}
