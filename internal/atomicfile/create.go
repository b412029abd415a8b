package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

// Create atomically creates path with data if it does not exist yet.
// See [CreateFrom].
func Create(fsys fsx.FS, path string, data []byte, perm fs.FileMode) error {
	return CreateFrom(fsys, path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// CreateFrom atomically creates path with what fill writes, but only if
// path does not exist: the content goes to a temporary file in the same
// directory, which is fsynced and then hard-linked to path. The link fails
// when path exists, so of several concurrent creators exactly one wins;
// the others get an error for which errors.Is(err, fs.ErrExist) holds.
// The temporary name is removed in every case and the directory fsynced
// after a successful create. A crash leaves either no file at path or the
// complete one, plus at most a temporary file that [CleanTemps] removes.
func CreateFrom(fsys fsx.FS, path string, perm fs.FileMode, fill func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return fmt.Errorf("atomic create %s: %w", path, err)
	}
	tmp := filepath.Join(dir, TempPrefix+filepath.Base(path)+"-"+hex.EncodeToString(rnd[:]))
	f, err := fsys.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("atomic create %s: create temp: %w", path, err)
	}
	closed, removed := false, false
	defer func() {
		if !closed {
			_ = f.Close()
		}
		if !removed {
			_ = fsys.Remove(tmp)
		}
	}()
	if err = fill(f); err != nil {
		return fmt.Errorf("atomic create %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("atomic create %s: fsync: %w", path, err)
	}
	closed = true
	if err = f.Close(); err != nil {
		return fmt.Errorf("atomic create %s: close: %w", path, err)
	}
	if err = fsys.Link(tmp, path); err != nil {
		return fmt.Errorf("atomic create %s: link: %w", path, err)
	}
	// The data lives on under path; the temporary name goes.
	removed = true
	if err = fsys.Remove(tmp); err != nil {
		return fmt.Errorf("atomic create %s: remove temp: %w", path, err)
	}
	if err = fsys.SyncDir(dir); err != nil {
		return fmt.Errorf("atomic create %s: fsync dir: %w", path, err)
	}
	return nil
}
