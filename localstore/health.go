package localstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/atomicfile"
)

// Health is the store's write health, from [Store.Health].
type Health struct {
	// Err is the write failure that makes the store unhealthy, nil while
	// writes succeed. It may name files of the data directory: log it, and
	// show remote callers Reason instead.
	Err error
	// Reason says in a few words what fails, naming no file (e.g.
	// "write-ahead log: no space left on device"); empty while healthy.
	Reason string
	// Since is when writes started failing; zero while healthy.
	Since time.Time
	// Failures counts the failed writes since [Open].
	Failures uint64
}

// OK reports whether writes succeed.
func (h Health) OK() bool { return h.Err == nil }

// stage is what a failed write was for.
type stage int

const (
	stageLog   stage = iota // appending to the write-ahead log
	stageApply              // writing component files, checkpointing, pruning
	numStages
)

var stageNames = [numStages]string{"write-ahead log", "component files"}

// health tracks failed writes per stage. A stage fails from its first
// failed write until a write of that stage succeeds: for the log, an
// append or a probe write in its directory; for the files, an applier
// round with its checkpoint.
type health struct {
	mu       sync.Mutex
	slots    [numStages]healthSlot
	failing  atomic.Bool
	failures atomic.Uint64
}

type healthSlot struct {
	err   error
	since time.Time
	size  int // bytes of the largest failed log write, for the probe
}

// err returns the failure of a stage, or nil.
func (h *health) err(st stage) error {
	if !h.failing.Load() {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.slots[st].err
}

// Health reports whether writes to the data directory succeed. While they
// fail (a full disk, an I/O error) the store keeps serving reads from
// memory and the log, retries in the background with a bounded backoff
// ([Options.RetryMax]) and on the next Apply, and becomes healthy again by
// itself once writes succeed: no restart is needed.
func (s *Store) Health() Health {
	h := &s.health
	h.mu.Lock()
	defer h.mu.Unlock()
	out := Health{Failures: h.failures.Load()}
	for st, slot := range h.slots {
		if slot.err != nil && (out.Err == nil || slot.since.Before(out.Since)) {
			out.Err, out.Since, out.Reason = slot.err, slot.since, reasonOf(stage(st), slot.err)
		}
	}
	return out
}

// reasonOf names the stage and the system error, without paths.
func reasonOf(st stage, err error) string {
	what := "I/O error"
	var errno syscall.Errno
	if errors.As(err, &errno) {
		what = errno.Error()
	}
	return stageNames[st] + ": " + what
}

// noteWrite records the outcome of a write of a stage (size: bytes a
// failed log write needed). A failure is logged (at error level when the
// store turns unhealthy) and starts the retries.
func (s *Store) noteWrite(st stage, err error) { s.noteWriteSize(st, 0, err) }

func (s *Store) noteWriteSize(st stage, size int, err error) {
	h := &s.health
	if err == nil && !h.failing.Load() {
		return
	}
	h.mu.Lock()
	slot := &h.slots[st]
	if err == nil {
		if slot.err == nil {
			h.mu.Unlock()
			return
		}
		since := slot.since
		*slot = healthSlot{}
		h.failing.Store(h.slots[stageLog].err != nil || h.slots[stageApply].err != nil)
		h.mu.Unlock()
		s.opts.Logger.Info("localstore: writes succeed again", "stage", stageNames[st], "failed_for", time.Since(since).Round(time.Millisecond))
		return
	}
	h.failures.Add(1)
	first := slot.err == nil
	if first {
		slot.since = time.Now()
	}
	slot.err = err
	slot.size = max(slot.size, size)
	h.failing.Store(true)
	h.mu.Unlock()
	if first {
		s.opts.Logger.Error("localstore: writes failing; nothing acknowledged is lost, retrying until they succeed", "stage", stageNames[st], "err", err)
	} else {
		s.opts.Logger.Debug("localstore: write failed again", "stage", stageNames[st], "err", err)
	}
	select {
	case s.retry <- struct{}{}:
	default:
	}
	if st == stageApply {
		// Committers waiting for the applier to make room give up.
		s.mu.Lock()
		s.space.Broadcast()
		s.mu.Unlock()
	}
}

// probeMin is the smallest probe write.
const probeMin = 4096

// retryWrites is one retry of whatever failed: the log's cleanup and a
// probe write in its directory, then an applier round with a checkpoint.
func (s *Store) retryWrites(ctx context.Context) {
	if s.health.err(stageLog) != nil {
		err := s.log.Repair(ctx)
		if err == nil {
			s.health.mu.Lock()
			size := s.health.slots[stageLog].size
			s.health.mu.Unlock()
			err = s.probe(max(size+probeMin, probeMin))
		}
		s.noteWrite(stageLog, err)
	}
	if s.health.err(stageApply) != nil {
		_ = s.flushNoting(ctx)
	}
}

// probe writes and fsyncs size bytes in a temporary file of the log's
// directory and removes it: it tells whether the log could take a record
// of that size again. A leftover is removed by the next Open.
func (s *Store) probe(size int) error {
	dir := filepath.Join(s.dir, dirWAL)
	path := filepath.Join(dir, atomicfile.TempPrefix+"probe")
	f, err := s.fs.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, filePerm)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	_, err = f.Write(make([]byte, size))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if rerr := s.fs.Remove(path); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	return nil
}
