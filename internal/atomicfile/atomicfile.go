// Package atomicfile is mlsbackup's one atomic-write helper: a file is
// written to a temporary name in the same directory, fsynced, closed,
// renamed over the target and the directory is fsynced. A crash at any
// instant leaves either the old content or the new, never a mix.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

// TempPrefix starts the name of every temporary file this package creates,
// so that recovery code can recognise and remove leftovers.
const TempPrefix = ".tmp-"

// Write atomically replaces path with data, creating it with perm.
func Write(fsys fsx.FS, path string, data []byte, perm fs.FileMode) error {
	return WriteFrom(fsys, path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFrom atomically replaces path with what fill writes. If fill fails,
// the temporary file is removed and path is untouched.
func WriteFrom(fsys fsx.FS, path string, perm fs.FileMode, fill func(w io.Writer) error) error {
	return writeFrom(fsys, path, perm, fill, true)
}

// WriteNoDirSync is [Write] without the final directory fsync: the new
// content replaces path atomically, but the replacement survives a power
// loss only once the caller has fsynced the directory (fsx.FS.SyncDir) —
// for example once after replacing many files in it.
func WriteNoDirSync(fsys fsx.FS, path string, data []byte, perm fs.FileMode) error {
	return writeFrom(fsys, path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, false)
}

func writeFrom(fsys fsx.FS, path string, perm fs.FileMode, fill func(w io.Writer) error, syncDir bool) (err error) {
	dir := filepath.Dir(path)
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return fmt.Errorf("atomic write %s: %w", path, err)
	}
	tmp := filepath.Join(dir, TempPrefix+filepath.Base(path)+"-"+hex.EncodeToString(rnd[:]))
	f, err := fsys.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("atomic write %s: create temp: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = fsys.Remove(tmp)
		}
	}()
	if err = fill(f); err != nil {
		return fmt.Errorf("atomic write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("atomic write %s: fsync: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("atomic write %s: close: %w", path, err)
	}
	if err = fsys.Rename(tmp, path); err != nil {
		return fmt.Errorf("atomic write %s: rename: %w", path, err)
	}
	if !syncDir {
		return nil
	}
	if err = fsys.SyncDir(dir); err != nil {
		return fmt.Errorf("atomic write %s: fsync dir: %w", path, err)
	}
	return nil
}

// IsTemp reports whether name (a base name) is a leftover temporary file.
func IsTemp(name string) bool { return strings.HasPrefix(name, TempPrefix) }

// CleanTemps removes leftover temporary files in dir (not recursively).
func CleanTemps(fsys fsx.FS, dir string) error {
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("clean temps in %s: %w", dir, err)
	}
	for _, e := range entries {
		if !e.IsDir() && IsTemp(e.Name()) {
			if err := fsys.Remove(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("clean temps in %s: %w", dir, err)
			}
		}
	}
	return nil
}
