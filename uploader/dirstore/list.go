package dirstore

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/atomicfile"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// List implements [uploader.ObjectStore]. It walks only the directory
// named by prefix up to its last '/', skips temporary files, and sorts
// by key (byte order, as S3 does).
func (s *Store) List(ctx context.Context, prefix string) ([]uploader.ObjectInfo, error) {
	start, err := s.prefixDir(prefix)
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	if err := s.checkRoot(); err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	var out []uploader.ObjectInfo
	err = s.walk(ctx, start, func(key string, fi fs.FileInfo) error {
		if strings.HasPrefix(key, prefix) {
			out = append(out, uploader.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()})
		}
		return nil
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("list %q in %s: %w", prefix, s, err)
	}
	slices.SortFunc(out, func(a, b uploader.ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Clean removes temporary files that a crashed writer left behind and
// that are older than olderThan (so that writes in flight, perhaps from
// another process, are not disturbed). It returns how many it removed.
func (s *Store) Clean(ctx context.Context, olderThan time.Duration) (int, error) {
	cutoff := time.Now().Add(-olderThan)
	n := 0
	err := s.walk(ctx, "", nil, func(path string, fi fs.FileInfo) error {
		if fi.ModTime().After(cutoff) {
			return nil
		}
		if err := s.fsys.Remove(path); err != nil && !isNotExist(err) {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("clean %s: %w", s, err)
	}
	return n, nil
}

// prefixDir returns the key directory to start listing prefix from: the
// part up to its last '/', which must be a valid key itself.
func (s *Store) prefixDir(prefix string) (string, error) {
	i := strings.LastIndexByte(prefix, '/')
	if i < 0 {
		return "", nil
	}
	dir := prefix[:i]
	if err := CheckKey(dir); err != nil {
		return "", err
	}
	return dir, nil
}

// walk visits the regular files below key directory dir: objects go to
// obj with their key, temporary files to tmp with their path. A missing
// directory has no files.
func (s *Store) walk(ctx context.Context, dir string, obj func(key string, fi fs.FileInfo) error, tmp func(path string, fi fs.FileInfo) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	path := filepath.Join(s.root, filepath.FromSlash(dir))
	entries, err := s.fsys.ReadDir(path)
	if err != nil {
		if isNotExist(err) {
			return nil
		}
		return err
	}
	for _, e := range entries {
		key := e.Name()
		if dir != "" {
			key = dir + "/" + key
		}
		if e.IsDir() {
			if err := s.walk(ctx, key, obj, tmp); err != nil {
				return err
			}
			continue
		}
		if !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			if isNotExist(err) {
				continue // deleted meanwhile
			}
			return err
		}
		switch {
		case atomicfile.IsTemp(e.Name()):
			if tmp != nil {
				if err := tmp(filepath.Join(path, e.Name()), fi); err != nil {
					return err
				}
			}
		case obj != nil:
			if err := obj(key, fi); err != nil {
				return err
			}
		}
	}
	return nil
}
