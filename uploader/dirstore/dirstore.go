// Package dirstore is the local-directory [uploader.ObjectStore], the
// embedded default destination: each key is a file under a root
// directory, its '/'-separated segments becoming subdirectories.
//
// Writes are atomic and durable: the bytes stream into a temporary file
// in the target directory, which is fsynced and then renamed (Put) or
// hard-linked (Put with ifNoneMatch, which thereby fails if the key
// exists) into place, and the directory is fsynced — see
// internal/atomicfile. A reader therefore sees a complete object or none.
// Temporary files start with atomicfile.TempPrefix; a crash can leave
// them behind, [Store.List] ignores them and [Store.CleanTemps] removes
// them (uploader's Prune calls it).
// Files are created 0600 and directories 0700.
package dirstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/mlsbackup/mlsbackup/internal/atomicfile"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/uploader"
)

const (
	filePerm fs.FileMode = 0o600
	dirPerm  fs.FileMode = 0o700
)

// Store is an [uploader.ObjectStore] in a local directory. It is safe for
// concurrent use, also by several processes.
type Store struct {
	fsys fsx.FS
	root string
	// durableDirs holds the directories (OS paths) this Store has made
	// durable: created and their entries fsynced up to the root.
	durableDirs sync.Map
}

var (
	_ uploader.ObjectStore = (*Store)(nil)
	_ uploader.TempCleaner = (*Store)(nil)
)

// New opens (creating it if needed, 0700) the store rooted at root.
func New(root string) (*Store, error) { return NewFS(fsx.OS{}, root) }

// NewFS is [New] on the given file system, for fault-injection tests.
func NewFS(fsys fsx.FS, root string) (*Store, error) {
	if root == "" {
		return nil, errors.New("dirstore: empty root directory")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("dirstore: root %s: %w", root, err)
	}
	if err := mkdirSynced(fsys, abs, "/"); err != nil {
		return nil, fmt.Errorf("dirstore: create root %s: %w", abs, err)
	}
	return &Store{fsys: fsys, root: abs}, nil
}

// Root returns the absolute root directory.
func (s *Store) Root() string { return s.root }

// String implements [uploader.ObjectStore].
func (s *Store) String() string { return "file://" + filepath.ToSlash(s.root) }

// Put implements [uploader.ObjectStore]. It reads r until EOF, and fails
// if size is not -1 and differs from the number of bytes read.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, ifNoneMatch bool) error {
	path, err := s.path(key)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := s.checkRoot(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := s.mkdirDurable(filepath.Dir(path)); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	fill := func(w io.Writer) error {
		n, err := io.Copy(w, ctxReader{ctx: ctx, r: r})
		if err != nil {
			return err
		}
		if size >= 0 && n != size {
			return fmt.Errorf("read %d bytes, want %d", n, size)
		}
		// A cancel that came after the last read still aborts.
		return ctx.Err()
	}
	if !ifNoneMatch {
		err = atomicfile.WriteFrom(s.fsys, path, filePerm, fill)
	} else {
		err = atomicfile.CreateFrom(s.fsys, path, filePerm, fill)
		if errors.Is(err, fs.ErrExist) {
			if fi, serr := s.fsys.Stat(path); serr == nil && fi.IsDir() {
				return fmt.Errorf("put %s: key is a prefix of other keys: %w", key, err)
			}
			return fmt.Errorf("put %s in %s: %w", key, s, uploader.ErrExists)
		}
	}
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// Get implements [uploader.ObjectStore]. Reads from the returned object
// fail once ctx is cancelled.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	path, err := s.path(key)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	f, err := s.fsys.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, s.mapNotFound(key, err))
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, fmt.Errorf("get %s in %s: %w", key, s, uploader.ErrNotFound)
	}
	return ctxReadCloser{ctxReader: ctxReader{ctx: ctx, r: f}, c: f}, nil
}

// Stat implements [uploader.ObjectStore].
func (s *Store) Stat(ctx context.Context, key string) (uploader.ObjectInfo, error) {
	path, err := s.path(key)
	if err != nil {
		return uploader.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return uploader.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, err)
	}
	fi, err := s.fsys.Stat(path)
	if err != nil {
		return uploader.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, s.mapNotFound(key, err))
	}
	if !fi.Mode().IsRegular() {
		return uploader.ObjectInfo{}, fmt.Errorf("stat %s in %s: %w", key, s, uploader.ErrNotFound)
	}
	return uploader.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Delete implements [uploader.ObjectStore]. Directories left empty stay:
// removing them would race with a concurrent Put into them.
func (s *Store) Delete(ctx context.Context, key string) error {
	path, err := s.path(key)
	if err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if err := s.checkRoot(); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	fi, err := s.fsys.Stat(path)
	if err != nil {
		if isNotExist(err) {
			return nil
		}
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		return nil // a prefix of other keys, not an object
	}
	if err := s.fsys.Remove(path); err != nil && !isNotExist(err) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if err := s.fsys.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("delete %s: fsync dir: %w", key, err)
	}
	return nil
}

// mkdirDurable creates dir and makes its entry, and those of its
// parents up to the root, durable, so that a file fsynced into it
// survives a power loss. Each directory is synced once per Store.
func (s *Store) mkdirDurable(dir string) error {
	if _, ok := s.durableDirs.Load(dir); ok {
		return nil
	}
	if err := mkdirSynced(s.fsys, dir, s.root); err != nil {
		return err
	}
	s.durableDirs.Store(dir, true)
	return nil
}

// mkdirSynced creates dir and its missing parents (0700) and fsyncs the
// parent of every directory on the way up to stop, which must be an
// ancestor of dir or the filesystem root.
func mkdirSynced(fsys fsx.FS, dir, stop string) error {
	if err := fsys.MkdirAll(dir, dirPerm); err != nil {
		return err
	}
	for d := dir; d != stop; d = filepath.Dir(d) {
		parent := filepath.Dir(d)
		if err := fsys.SyncDir(parent); err != nil {
			return fmt.Errorf("fsync dir %s: %w", parent, err)
		}
		if parent == d {
			break // the filesystem root
		}
	}
	return nil
}

// checkRoot reports [uploader.ErrNoBucket] if the root directory is gone.
func (s *Store) checkRoot() error {
	fi, err := s.fsys.Stat(s.root)
	if err == nil && fi.IsDir() {
		return nil
	}
	if err == nil || isNotExist(err) {
		return fmt.Errorf("%s: %w", s, uploader.ErrNoBucket)
	}
	return fmt.Errorf("%s: %w", s, err)
}

// mapNotFound turns a missing file into [uploader.ErrNotFound], or
// [uploader.ErrNoBucket] when the root itself is missing.
func (s *Store) mapNotFound(key string, err error) error {
	if !isNotExist(err) {
		return err
	}
	if rerr := s.checkRoot(); rerr != nil {
		return rerr
	}
	return fmt.Errorf("%s in %s: %w", key, s, uploader.ErrNotFound)
}

// isNotExist also counts ENOTDIR: "a/b" cannot exist when "a" is a file.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// ctxReader fails reads once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

type ctxReadCloser struct {
	ctxReader
	c io.Closer
}

func (c ctxReadCloser) Close() error { return c.c.Close() }
