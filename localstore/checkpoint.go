package localstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/atomicfile"
)

// ckptState is what the applier wrote since the last checkpoint: the
// files it replaced without fsync, the directories whose entries changed
// and the operations whose batches those writes carry. Until the next
// checkpoint makes the writes durable, the log keeps those operations
// unapplied, so that recovery replays over whatever a power loss left of
// the files. Guarded by Store.flushMu.
type ckptState struct {
	files map[string]bool
	dirs  map[string]bool
	// created are directories made by applier rounds whose parents are
	// in dirs: durable once the checkpoint has fsynced those.
	created map[string]bool
	written []uint64
	// logDue is set once the operations are marked applied in the log but
	// the log's checkpoint has not succeeded yet.
	logDue bool
	// since is when the oldest write not yet durable happened (zero if none).
	since time.Time
}

func newCkptState() ckptState {
	return ckptState{files: map[string]bool{}, dirs: map[string]bool{}, created: map[string]bool{}}
}

func (c *ckptState) empty() bool {
	return len(c.written) == 0 && len(c.files) == 0 && len(c.dirs) == 0 && len(c.created) == 0 && !c.logDue
}

// checkpointDue returns when the next age-triggered checkpoint is due, if
// anything waits for one.
func (s *Store) checkpointDue() (time.Time, bool) {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	if s.ckpt.since.IsZero() {
		return time.Time{}, false
	}
	return s.ckpt.since.Add(s.opts.CheckpointInterval), true
}

// ckptThresholdLocked reports whether the log has grown past
// [Options.CheckpointBytes] or the oldest non-durable write is older than
// [Options.CheckpointInterval]. flushMu is held.
func (s *Store) ckptThresholdLocked() bool {
	if s.logBytes.Load() >= s.opts.CheckpointBytes {
		return true
	}
	return !s.ckpt.since.IsZero() && time.Since(s.ckpt.since) >= s.opts.CheckpointInterval
}

// checkpointLocked makes every file write since the last checkpoint
// durable (each file fsynced once, then each directory), marks the
// operations they carry applied and checkpoints the log, which deletes
// the segments holding them. If a step fails, what is done stays done and
// the next call goes on from there. flushMu is held (or, during recovery,
// nothing else runs).
func (s *Store) checkpointLocked(ctx context.Context) error {
	logBytes := s.logBytes.Load()
	files := sortedKeys(s.ckpt.files)
	errs := make([]error, len(files))
	s.parallel(len(files), s.opts.SyncApply, func(i int) {
		// A file deleted since it was written needs only its directory.
		if err := atomicfile.SyncFile(s.fs, files[i]); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs[i] = err
		}
	})
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	dirs := sortedKeys(s.ckpt.dirs)
	errs = make([]error, len(dirs))
	s.parallel(len(dirs), s.opts.SyncApply, func(i int) {
		if err := s.fs.SyncDir(dirs[i]); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs[i] = err
		}
	})
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	s.dirMu.Lock()
	for d := range s.ckpt.created {
		s.dirs[d] = true
	}
	s.ckpt.created = map[string]bool{}
	s.dirMu.Unlock()
	s.ckpt.files, s.ckpt.dirs = map[string]bool{}, map[string]bool{}
	if len(s.ckpt.written) > 0 {
		if err := s.log.MarkApplied(ctx, s.ckpt.written...); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		s.ckpt.written = nil
		s.ckpt.logDue = true
	}
	if err := s.log.Checkpoint(ctx); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	s.ckpt = newCkptState()
	s.logBytes.Add(-logBytes)
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
