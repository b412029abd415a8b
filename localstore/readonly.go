package localstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/wal"
)

// ErrReadOnly is returned by [ReadOnly.Apply].
var ErrReadOnly = errors.New("localstore: data directory opened read-only")

// Initialized reports whether dir holds a data directory: its FORMAT file,
// or an mls/ or wal/ directory (which [Open] refuses without FORMAT). A
// missing or empty dir holds none; [Open] would create and initialise it.
func Initialized(fsys fsx.FS, dir string) (bool, error) {
	for _, name := range []string{fileFormat, dirMLS, dirWAL} {
		_, err := fsys.Stat(filepath.Join(dir, name))
		switch {
		case err == nil:
			return true, nil
		case !errors.Is(err, fs.ErrNotExist):
			return false, fmt.Errorf("data directory %s: %w", dir, err)
		}
	}
	return false, nil
}

// readFormat checks the FORMAT file of dir. found is false when there is
// none and dir has neither mls/ nor wal/ (a new data directory).
func readFormat(fsys fsx.FS, dir string) (found bool, err error) {
	path := filepath.Join(dir, fileFormat)
	b, err := fsys.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		for _, name := range []string{dirMLS, dirWAL} {
			if _, err := fsys.Stat(filepath.Join(dir, name)); err == nil {
				return false, fmt.Errorf("open store %s: %w: %s is missing but %s exists", dir, ErrUnsupportedFormat, path, name)
			}
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("open store: read format: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) != 2 || f[0] != "mlsbackup-localstore" {
		return false, fmt.Errorf("open store: %w: %s does not name a localstore format", ErrUnsupportedFormat, path)
	}
	if v, err := strconv.Atoi(f[1]); err != nil || v != FormatVersion {
		return false, fmt.Errorf("open store: %w: %s says version %q, this build reads version %d", ErrUnsupportedFormat, path, f[1], FormatVersion)
	}
	return true, nil
}

// ReadOnly is a data directory opened by [OpenReadOnly]: the components as
// [Open] would recover them, for reading only. It is safe for concurrent
// use.
type ReadOnly struct {
	s    *Store
	lock io.Closer // nil when the directory has no LOCK file
}

var _ engine.Storage = (*ReadOnly)(nil)

// OpenReadOnly opens the existing data directory dir without writing to
// it, so that it also works where this process may not write (a dry run
// of restore on a read-only data directory): no directory, lock file or
// FORMAT is created, and nothing is recovered on disk — the batches the
// log holds committed but not yet applied to the component files are read
// from the log and laid over the files in memory, as [Open] would replay
// them. It takes a shared lock on the LOCK file (opened read-only, if the
// directory has one), so it fails with [ErrLocked] while a [Store] holds
// the directory, and no Store can open it until [ReadOnly.Close]. A
// directory that holds no data yet (see [Initialized]) reads as empty; a
// missing one is an error wrapping fs.ErrNotExist.
func OpenReadOnly(ctx context.Context, fsys fsx.FS, dir string, opts Options) (*ReadOnly, error) {
	dir = filepath.Clean(dir)
	if _, err := fsys.Stat(dir); err != nil {
		return nil, fmt.Errorf("open store read-only: %w", err)
	}
	r := &ReadOnly{s: &Store{fs: fsys, dir: dir, opts: opts.withDefaults(), pending: newOverlay(),
		prune: map[string]pruneMark{}, epochs: map[string]map[string]bool{}, dirs: map[string]bool{}, ckpt: newCkptState()}}
	r.s.space = sync.NewCond(&r.s.mu)
	lockPath := filepath.Join(dir, fileLock)
	if _, err := fsys.Stat(lockPath); err == nil {
		l, ok := fsys.(fsx.SharedLocker)
		if !ok {
			return nil, fmt.Errorf("open store read-only: file system cannot lock %s", dir)
		}
		c, err := l.LockShared(lockPath)
		if errors.Is(err, fsx.ErrLocked) {
			return nil, fmt.Errorf("open store %s: %w (lock file %s)", dir, ErrLocked, lockPath)
		}
		if err != nil {
			return nil, fmt.Errorf("open store read-only: %w", err)
		}
		r.lock = c
	}
	if err := r.load(ctx); err != nil {
		_ = r.Close()
		return nil, err
	}
	return r, nil
}

// load checks the format and lays the log's unapplied batches over the
// files.
func (r *ReadOnly) load(ctx context.Context) error {
	found, err := readFormat(r.s.fs, r.s.dir)
	if err != nil || !found {
		return err
	}
	rec, err := wal.Read(ctx, r.s.fs, filepath.Join(r.s.dir, dirWAL), wal.Options{Logger: r.s.opts.Logger})
	if err != nil {
		return fmt.Errorf("open store read-only: %w", err)
	}
	entries, _, _, err := foldReplay(rec.Replay)
	if err != nil {
		return err
	}
	for _, e := range entries {
		r.s.pending.set(compKey(e.key), e)
	}
	return nil
}

// Get implements [engine.Storage].
func (r *ReadOnly) Get(ctx context.Context, key engine.Key) ([]byte, error) { return r.s.Get(ctx, key) }

// List implements [engine.Storage].
func (r *ReadOnly) List(ctx context.Context, group []byte, kind engine.Kind) ([]string, error) {
	return r.s.List(ctx, group, kind)
}

// Groups implements [engine.Storage].
func (r *ReadOnly) Groups(ctx context.Context) ([][]byte, error) { return r.s.Groups(ctx) }

// Apply implements [engine.Storage]: it always fails with [ErrReadOnly].
func (r *ReadOnly) Apply(context.Context, *engine.Batch) error {
	return fmt.Errorf("apply: %w", ErrReadOnly)
}

// Close releases the shared lock.
func (r *ReadOnly) Close() error {
	if r.lock == nil {
		return nil
	}
	err := r.lock.Close()
	r.lock = nil
	return err
}
