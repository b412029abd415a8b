package localstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/atomicfile"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/wal"
)

// FormatVersion is the data-directory format this package reads and writes.
const FormatVersion = 1

// Sentinel errors.
var (
	// ErrLocked is returned by [Open] when another process holds the data directory.
	ErrLocked = errors.New("localstore: data directory is in use by another process")
	// ErrUnsupportedFormat is returned by [Open] for an unknown FORMAT version.
	ErrUnsupportedFormat = errors.New("localstore: unsupported data directory format")
	// ErrClosed is returned after [Store.Close].
	ErrClosed = errors.New("localstore: store closed")
	// ErrWriteFailed is wrapped by the error of a call that failed because
	// writing to the data directory failed (a full disk, an I/O error):
	// nothing of its batch was stored, and the store retries and recovers
	// by itself once writes succeed again (see [Store.Health]).
	ErrWriteFailed = errors.New("localstore: write failed")
	// ErrNotCheckpointed is wrapped by the error of [Store.Close] when only
	// the final applier round or checkpoint failed: every acknowledged
	// batch is durable in the log, and the next [Open] replays it.
	ErrNotCheckpointed = errors.New("localstore: closed without a final checkpoint; every acknowledged batch is in the log and the next open replays it")
)

// Options configures a [Store]. The zero value is usable: zero fields take
// the defaults.
type Options struct {
	// EpochRetention is how many of a group's newest epoch_<N>.bin secrets
	// are kept; older ones are deleted in the same batch that adds a newer
	// one. Default 10.
	EpochRetention int
	// SnapshotsKept is how many epoch_<N>.snapshot files are kept at most
	// per group; only the current epoch's outlives the next applier round
	// (see [Store.SaveSnapshot]). Default 5.
	SnapshotsKept int
	// SyncApply makes [Store.Apply] write the component files and checkpoint
	// the log before returning, instead of leaving that to a background
	// applier. Durability is the same; throughput is lower. If writing the
	// files fails, the batch is durable all the same and Apply returns nil;
	// the failure shows in [Store.Health] and is retried.
	SyncApply bool
	// ApplyDelay is how long the background applier lets committed batches
	// gather before it writes their components to the files, so that a
	// component changed by several of them is written once (and an epoch
	// secret added and deleted in between is never written). Apply waits
	// for it only when more than MaxPending components are pending.
	// Default 50ms; negative applies at once.
	ApplyDelay time.Duration
	// CheckpointInterval bounds how long a batch applied to the component
	// files by the background applier may stay in the log: the applier
	// replaces files without fsync and makes them durable (each file
	// fsynced once, then its directory) only before a checkpoint marks
	// their batches applied and deletes the log segments holding them.
	// It is also how long secrets of an epoch deleted by the retention may
	// outlive their deletion in the log. [Store.Flush] and [Store.Close]
	// checkpoint at once. Default 1s.
	CheckpointInterval time.Duration
	// CheckpointBytes makes the applier checkpoint as soon as the batches
	// logged since the last checkpoint reach this many bytes, which bounds
	// the replay after a crash. Default 16 MiB.
	CheckpointBytes int64
	// MaxPending bounds the components committed but not yet written to
	// their files; Apply waits for the background applier beyond it (and
	// fails with [ErrWriteFailed] while the applier's writes fail).
	// Default 4096.
	MaxPending int
	// RetryMax is the longest wait between retries of failed writes (see
	// [Store.Health]); retries start after RetryMax/50 and back off
	// exponentially. Default 5s.
	RetryMax time.Duration
	// Logger receives recovery and failure messages; nil discards them.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.EpochRetention <= 0 {
		o.EpochRetention = 10
	}
	if o.SnapshotsKept <= 0 {
		o.SnapshotsKept = 5
	}
	if o.ApplyDelay == 0 {
		o.ApplyDelay = 50 * time.Millisecond
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = time.Second
	}
	if o.CheckpointBytes <= 0 {
		o.CheckpointBytes = 16 << 20
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 4096
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

// Store is the file-based, crash-atomic [engine.Storage]. It is safe for
// concurrent use.
type Store struct {
	fs   fsx.FS
	dir  string
	opts Options
	log  *wal.Log
	lock io.Closer

	// mu orders commits and guards the overlay: writers hold it to append
	// to the log and update pending; readers hold it (shared) while they
	// merge pending with the files.
	mu      sync.RWMutex
	pending overlay
	queue   []queued
	prune   map[string]pruneMark       // group hex → the local snapshots that may stay
	epochs  map[string]map[string]bool // group → its epoch_<N>.bin names (see epochNamesLocked)
	closed  bool
	space   *sync.Cond // signalled when pending shrinks or the applier fails
	// seenFailures is the log's failure count when batches lost with
	// failed log writes were last taken out (see rollbackLocked).
	seenFailures uint64

	health health
	// recovering is set while Open replays the log.
	recovering bool

	flushMu sync.Mutex // one applier round at a time
	ckpt    ckptState  // writes not yet durable; guarded by flushMu
	// logBytes counts payload bytes committed since the last checkpoint.
	logBytes atomic.Int64

	dirMu sync.Mutex
	dirs  map[string]bool // directories known to exist durably

	// snapMu serializes writing local snapshot files with pruning them.
	snapMu sync.Mutex

	kick   chan struct{}
	urgent chan struct{} // a committer waits for space: apply without delay
	retry  chan struct{} // a write failed: retry with backoff
	stop   chan struct{}
	done   chan struct{}
}

var _ engine.Storage = (*Store)(nil)

// pendingEntry is the newest committed value of a component that may not
// be in its file yet. Entries are immutable once installed, except prev.
type pendingEntry struct {
	key     engine.Key
	value   []byte
	deleted bool
	ticket  uint64
	// prev is the value this one replaced, kept while this one is not
	// durable: if its log write fails, prev is the value again (see
	// rollbackLocked). Guarded by Store.mu.
	prev *pendingEntry
}

// queued is a committed operation not yet applied to the files.
type queued struct {
	id     uint64
	ticket uint64
}

// Open locks and opens the data directory dir (creating it if needed),
// recovers from any crash and returns the store and what recovery did.
func Open(ctx context.Context, fsys fsx.FS, dir string, opts Options) (*Store, *RecoveryReport, error) {
	opts = opts.withDefaults()
	s := &Store{
		fs: fsys, dir: filepath.Clean(dir), opts: opts,
		pending: newOverlay(), prune: map[string]pruneMark{},
		epochs: map[string]map[string]bool{},
		dirs:   map[string]bool{}, ckpt: newCkptState(),
	}
	s.space = sync.NewCond(&s.mu)
	if err := fsys.MkdirAll(s.dir, dirPerm); err != nil {
		return nil, nil, fmt.Errorf("open store: %w", err)
	}
	if err := fsys.SyncDir(filepath.Dir(s.dir)); err != nil {
		return nil, nil, fmt.Errorf("open store: %w", err)
	}
	s.dirs[s.dir] = true
	if err := s.takeLock(); err != nil {
		return nil, nil, err
	}
	report, err := s.open(ctx)
	if err != nil {
		if s.log != nil {
			_ = s.log.Close()
		}
		_ = s.lock.Close()
		return nil, nil, err
	}
	s.kick = make(chan struct{}, 1)
	s.urgent = make(chan struct{}, 1)
	s.retry = make(chan struct{}, 1)
	s.stop = make(chan struct{})
	s.done = make(chan struct{})
	go s.runApplier()
	return s, report, nil
}

func (s *Store) takeLock() error {
	l, ok := s.fs.(fsx.Locker)
	if !ok {
		return fmt.Errorf("open store: file system cannot lock %s", s.dir)
	}
	path := filepath.Join(s.dir, fileLock)
	c, err := l.Lock(path)
	if errors.Is(err, fsx.ErrLocked) {
		return fmt.Errorf("open store %s: %w (lock file %s)", s.dir, ErrLocked, path)
	}
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	s.lock = c
	return nil
}

// open checks the format, opens the log and recovers. The lock is held.
func (s *Store) open(ctx context.Context) (*RecoveryReport, error) {
	if err := s.checkFormat(); err != nil {
		return nil, err
	}
	for _, d := range []string{filepath.Join(s.dir, dirMLS, dirGroups), filepath.Join(s.dir, dirMLS, dirClient), filepath.Join(s.dir, dirWAL)} {
		if err := s.ensureDir(d); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	l, rec, err := wal.Open(ctx, s.fs, filepath.Join(s.dir, dirWAL), wal.Options{Logger: s.opts.Logger})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.log = l
	return s.recover(ctx, rec)
}

// checkFormat reads FORMAT, or writes it into a new data directory.
func (s *Store) checkFormat() error {
	found, err := readFormat(s.fs, s.dir)
	if err != nil || found {
		return err
	}
	path := filepath.Join(s.dir, fileFormat)
	if err := atomicfile.Write(s.fs, path, []byte(fmt.Sprintf("mlsbackup-localstore %d\n", FormatVersion)), filePerm); err != nil {
		return fmt.Errorf("open store: write format: %w", err)
	}
	return nil
}

// Close applies what is pending, checkpoints and closes the log and
// releases the lock. If writing fails (a full disk), nothing acknowledged
// is lost: every batch an Apply acknowledged is durable in the log, which
// the next [Open] replays; the error then wraps [ErrNotCheckpointed].
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.space.Broadcast()
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	// Records the log still buffers were never acknowledged, so a failed
	// write there loses nothing either.
	var writeErrs []error
	if err := s.flush(context.Background(), true); err != nil {
		writeErrs = append(writeErrs, err)
	}
	if err := s.log.Close(); err != nil {
		writeErrs = append(writeErrs, err)
	}
	var err error
	if len(writeErrs) > 0 {
		err = fmt.Errorf("%w: %w", ErrNotCheckpointed, errors.Join(writeErrs...))
	}
	if cerr := s.lock.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}
