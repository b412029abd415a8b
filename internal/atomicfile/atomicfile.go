// Package atomicfile is mlsbackup's one atomic-write helper: a file is
// written to a temporary name in the same directory, fsynced, closed,
// renamed over the target and the directory is fsynced. A crash at any
// instant leaves either the old content or the new, never a mix.
//
// Two weaker modes serve callers that make the result durable later
// themselves: [WriteNoDirSync] leaves out the directory fsync, and
// [OverwriteNoSync] writes in place without any fsync, for files that a
// write-ahead log can rebuild (the caller makes them durable with
// [SyncFile] and a directory fsync before it drops the log records).
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
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
	return writeFrom(fsys, path, perm, fill, syncAll)
}

// mode selects which fsyncs an atomic write performs.
type mode int

const (
	syncAll  mode = iota // file and directory
	syncFile             // file only
)

// WriteNoDirSync is [Write] without the final directory fsync: the new
// content replaces path atomically, but the replacement survives a power
// loss only once the caller has fsynced the directory (fsx.FS.SyncDir) —
// for example once after replacing many files in it.
func WriteNoDirSync(fsys fsx.FS, path string, data []byte, perm fs.FileMode) error {
	return writeFrom(fsys, path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, syncFile)
}

// OverwriteNoSync puts data into path by writing it over the existing
// content in place (creating the file if missing) and truncating it to
// len(data), without any fsync. It is NOT atomic: a crash during the write
// may leave a mix of old and new bytes, and a power loss may leave
// anything until the caller has made the write durable with [SyncFile]
// (and, for a new file, a directory fsync). Use it only for files that a
// write-ahead log rebuilds after a crash, and that nobody reads while they
// are written. It exists because replacing a file by rename makes some
// file systems (ext4's auto_da_alloc) flush its data on the spot, which
// costs almost an fsync.
func OverwriteNoSync(fsys fsx.FS, path string, data []byte, perm fs.FileMode) error {
	// Opening without O_CREAT first spares the directory's exclusive lock.
	err := overwrite(fsys, path, data, perm, false)
	if errors.Is(err, fs.ErrNotExist) {
		err = overwrite(fsys, path, data, perm, true)
	}
	return err
}

// OverwriteExisting is [OverwriteNoSync] for a file that must exist: a
// missing file gives an error satisfying errors.Is(err, fs.ErrNotExist)
// and nothing is created.
func OverwriteExisting(fsys fsx.FS, path string, data []byte) error {
	return overwrite(fsys, path, data, 0, false)
}

func overwrite(fsys fsx.FS, path string, data []byte, perm fs.FileMode, create bool) error {
	flag := os.O_WRONLY
	if create {
		flag |= os.O_CREATE
	}
	f, err := fsys.OpenFile(path, flag, perm)
	if err != nil {
		return fmt.Errorf("overwrite %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Truncate(int64(len(data)))
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("overwrite %s: %w", path, err)
	}
	return nil
}

// SyncFile fsyncs the existing file path (e.g. one written by
// [WriteNoSync]); its directory entry still needs a directory fsync. A
// missing file gives an error satisfying errors.Is(err, fs.ErrNotExist).
func SyncFile(fsys fsx.FS, path string) error {
	f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}

func writeFrom(fsys fsx.FS, path string, perm fs.FileMode, fill func(w io.Writer) error, m mode) (err error) {
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
	if m != syncAll {
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
