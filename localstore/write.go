package localstore

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"

	"github.com/mlsbackup/mlsbackup/internal/atomicfile"
)

// writeAll writes the given components' newest values to their files,
// one after another and without fsync (writes that do not wait for the
// disk gain nothing from running at once): the files and directories
// touched are noted for the next checkpoint, which makes them durable.
// flushMu is held.
//
// Each file is overwritten in place: readers take the value from the
// overlay until the write is done, and a crash before the next checkpoint
// replays the batch over whatever it left. Creating a file costs far more
// than renaming one on common file systems, so a file the round deletes
// (typically an epoch secret that left the retention) is renamed to a
// name the round creates in the same directory and overwritten, instead of
// being removed while a new file is created.
func (s *Store) writeAll(snap []*pendingEntry) error {
	spares := map[string][]string{} // directory → files to delete
	for _, e := range snap {
		if e.deleted {
			path := s.compPath(e.key)
			spares[filepath.Dir(path)] = append(spares[filepath.Dir(path)], path)
		}
	}
	for _, e := range snap {
		if e.deleted {
			continue
		}
		if err := s.writeComponent(e, spares); err != nil {
			return err
		}
	}
	for dir, paths := range spares {
		for _, p := range paths {
			if err := s.removeComponent(dir, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeComponent puts one component's newest value into its file, reusing
// a file of spares (to be deleted, same directory) rather than creating
// one.
func (s *Store) writeComponent(e *pendingEntry, spares map[string][]string) error {
	path := s.compPath(e.key)
	dir := filepath.Dir(path)
	data := encodeComponent(e.value)
	// Also for an existing file: its directories may come from a process
	// that died before fsyncing their parents.
	if err := s.ensureDirDeferred(dir); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	err := atomicfile.OverwriteExisting(s.fs, path, data)
	for errors.Is(err, fs.ErrNotExist) && len(spares[dir]) > 0 {
		spare := spares[dir][len(spares[dir])-1]
		spares[dir] = spares[dir][:len(spares[dir])-1]
		switch rerr := s.fs.Rename(spare, path); {
		case rerr == nil:
			err = atomicfile.OverwriteExisting(s.fs, path, data)
		case !errors.Is(rerr, fs.ErrNotExist):
			return fmt.Errorf("apply: reuse %s: %w", spare, rerr)
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		err = atomicfile.OverwriteNoSync(s.fs, path, data, filePerm)
	}
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	s.ckpt.files[path] = true
	// The directory is fsynced even for a file that existed: it may have
	// been created by a process that died before fsyncing the directory.
	s.ckpt.dirs[dir] = true
	return nil
}

// removeComponent deletes a component file and notes its directory for
// the next checkpoint.
func (s *Store) removeComponent(dir, path string) error {
	err := s.fs.Remove(path)
	switch {
	case err == nil:
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("apply: delete component: %w", err)
	case !s.recovering:
		// Never written, or its removal was made durable or is already
		// noted for the next checkpoint.
		return nil
	}
	// During recovery a missing file may have been removed by a process
	// that died before fsyncing the directory: fsync it anyway.
	s.ckpt.dirs[dir] = true
	return nil
}

// parallel runs f(0..n-1) on up to applyWorkers goroutines, or one after
// another if serial is set or n < 2.
func (s *Store) parallel(n int, serial bool, f func(i int)) {
	if serial || n < 2 {
		for i := range n {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	work := make(chan int)
	for range min(applyWorkers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				f(i)
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
}
