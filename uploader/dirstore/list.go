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

// CleanTemps removes the temporary files that writers killed mid-write
// left below the key directory of prefix (walked as [Store.List] walks
// it) and that were last written before cutoff, or with dryRun only
// lists them. A write in flight keeps writing to its temporary file, so a
// cutoff well in the past never touches it. It returns the files' paths
// relative to the root ('/'-separated, sorted), also on an error, with
// those removed so far.
func (s *Store) CleanTemps(ctx context.Context, prefix string, cutoff time.Time, dryRun bool) ([]string, error) {
	start, err := s.prefixDir(prefix)
	if err != nil {
		return nil, fmt.Errorf("clean temporary files %q: %w", prefix, err)
	}
	var out []string
	err = s.walk(ctx, start, nil, func(key string, fi fs.FileInfo) error {
		if !strings.HasPrefix(key, prefix) || !fi.ModTime().Before(cutoff) {
			return nil
		}
		if !dryRun {
			if err := s.fsys.Remove(filepath.Join(s.root, filepath.FromSlash(key))); err != nil {
				if isNotExist(err) {
					return nil
				}
				return err
			}
		}
		out = append(out, key)
		return nil
	})
	slices.Sort(out)
	if err != nil {
		return out, fmt.Errorf("clean temporary files in %s: %w", s, err)
	}
	return out, nil
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
// obj, temporary files to tmp, each with its key (the path relative to the
// root, '/'-separated). A missing directory has no files.
func (s *Store) walk(ctx context.Context, dir string, obj, tmp func(key string, fi fs.FileInfo) error) error {
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
				if err := tmp(key, fi); err != nil {
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
