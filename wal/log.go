package wal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

// Sentinel errors of the log.
var (
	// ErrClosed is returned by operations on a closed [Log].
	ErrClosed = errors.New("wal: log closed")
	// ErrUnknownOp is returned when an id names no unfinished operation.
	ErrUnknownOp = errors.New("wal: unknown or finished operation")
	// ErrTooLarge is returned when a record would exceed [MaxPayload].
	ErrTooLarge = errors.New("wal: record too large")
)

// Options configures [Open].
type Options struct {
	// Logger receives repair and cleanup messages; nil discards them.
	Logger *slog.Logger
	// KeepCompleted is how many finished operations [Log.Completed] remembers
	// (in memory only, metadata without inputs or payloads); 0 keeps none.
	KeepCompleted int
}

// opState is the in-memory state of an unfinished operation.
type opState struct {
	kind       string
	beginSeg   uint64
	committed  bool
	inputLen   int
	payloadLen int
}

// Completed describes a finished operation, kept for debugging.
type Completed struct {
	ID         uint64
	Kind       string
	Aborted    bool
	InputLen   int
	PayloadLen int
}

// Log is an open write-ahead log. It is safe for concurrent use.
type Log struct {
	fs     fsx.FS
	dir    string
	logger *slog.Logger
	opts   Options

	// ioMu is held by whoever writes or fsyncs the active segment, or rolls it.
	ioMu sync.Mutex
	// ckptMu serialises checkpoints.
	ckptMu sync.Mutex

	mu        sync.Mutex
	cond      *sync.Cond
	buf       []byte // encoded records not yet written
	appended  uint64 // records appended to buf, ever
	synced    uint64 // records known durable
	chain     uint32 // chained CRC of the last record appended
	err       error  // sticky I/O failure: the log is dead
	closed    bool
	nextID    uint64
	ops       map[uint64]*opState
	firstSeg  uint64
	activeSeq uint64
	active    fsx.File
	activeLen int64 // bytes in the active segment, including buf
	completed []Completed
}

// Open opens (creating if needed) the log in dir, repairs a torn tail and
// returns what recovery found. A corrupt log is refused with a
// [*CorruptError] and left untouched.
func Open(ctx context.Context, fsys fsx.FS, dir string, opts Options) (*Log, *Recovery, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := fsys.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("open wal: %w", err)
	}
	if err := fsys.SyncDir(filepath.Dir(dir)); err != nil {
		return nil, nil, fmt.Errorf("open wal: %w", err)
	}
	res, err := scan(ctx, fsys, dir, opts.Logger, true)
	if err != nil {
		return nil, nil, fmt.Errorf("open wal: %w", err)
	}
	l := &Log{fs: fsys, dir: dir, logger: opts.Logger, opts: opts, nextID: res.nextID, ops: res.unfinish}
	l.cond = sync.NewCond(&l.mu)
	if len(res.seqs) == 0 {
		if err := l.startSegment(1); err != nil {
			return nil, nil, fmt.Errorf("open wal: %w", err)
		}
		l.firstSeg = 1
	} else {
		l.firstSeg = res.seqs[0]
		l.activeSeq = res.seqs[len(res.seqs)-1]
		l.chain = res.chain
		l.activeLen = res.activeEnd
		f, err := fsys.OpenFile(filepath.Join(dir, segmentName(l.activeSeq)), osAppend, filePerm)
		if err != nil {
			return nil, nil, fmt.Errorf("open wal: %w", err)
		}
		// A process killed after writing records but before their fsync
		// left them in the page cache: the scan saw them and the caller
		// will act on them (replay them into files), so they must not be
		// lost by a power loss from now on.
		if err := f.Sync(); err != nil {
			_ = f.Close()
			return nil, nil, fmt.Errorf("open wal: sync active segment: %w", err)
		}
		l.active = f
	}
	return l, &res.rec, nil
}

const osAppend = os.O_WRONLY | os.O_APPEND

// startSegment durably creates segment seq and makes it the active one.
// The caller has exclusive access (during Open).
func (l *Log) startSegment(seq uint64) error {
	h := segmentHeader{seq: seq, baseID: l.nextID}
	if err := createSegment(l.fs, l.dir, h); err != nil {
		return err
	}
	return l.activate(h)
}

// activate opens the created segment h for appending and makes it active,
// closing the previous one. mu and ioMu are held (or access is exclusive).
func (l *Log) activate(h segmentHeader) error {
	f, err := l.fs.OpenFile(filepath.Join(l.dir, segmentName(h.seq)), osAppend, filePerm)
	if err != nil {
		return fmt.Errorf("open segment: %w", err)
	}
	if l.active != nil {
		if err := l.active.Close(); err != nil {
			_ = f.Close()
			return fmt.Errorf("close segment: %w", err)
		}
	}
	l.active = f
	l.activeSeq = h.seq
	l.activeLen = segmentHeaderSize
	l.chain = chainSeed(h.encode())
	return nil
}

// appendLocked encodes a record into the buffer; mu is held. It returns
// the record's sequence number for [Log.waitDurable].
func (l *Log) appendLocked(t recordType, payload []byte) (uint64, error) {
	if l.closed {
		return 0, ErrClosed
	}
	if l.err != nil {
		return 0, l.err
	}
	if len(payload) > MaxPayload {
		return 0, ErrTooLarge
	}
	before := len(l.buf)
	l.buf, l.chain = appendRecord(l.buf, l.chain, t, payload)
	l.activeLen += int64(len(l.buf) - before)
	l.appended++
	return l.appended, nil
}

// waitDurable returns once record seq is on stable storage, flushing the
// buffer itself if no other goroutine is (group commit). mu is held.
func (l *Log) waitDurable(seq uint64) error {
	for l.synced < seq {
		if l.err != nil {
			return l.err
		}
		if l.ioMu.TryLock() {
			l.flushLocked()
			l.ioMu.Unlock()
			l.cond.Broadcast()
			continue
		}
		l.cond.Wait()
	}
	return nil
}

// flushLocked writes and fsyncs the buffer. mu and ioMu are held on entry
// and exit; mu is released during I/O.
func (l *Log) flushLocked() {
	if l.err != nil || l.synced == l.appended {
		return
	}
	data, target, f := l.buf, l.appended, l.active
	l.buf = nil
	l.mu.Unlock()
	var err error
	if len(data) > 0 {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	l.mu.Lock()
	if err != nil {
		l.fail(fmt.Errorf("wal: write segment %s: %w", segmentName(l.activeSeq), err))
		return
	}
	l.synced = target
	l.cond.Broadcast()
}

// fail makes the log unusable after an I/O error: the page cache can no
// longer be trusted to match the disk. mu is held.
func (l *Log) fail(err error) {
	if l.err == nil {
		l.err = err
		l.logger.Error("wal: log failed", "err", err)
	}
	l.cond.Broadcast()
}

// Sync makes every record appended so far durable.
func (l *Log) Sync(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("wal sync: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	return l.waitDurable(l.appended)
}

// Close flushes buffered records and closes the log. Unfinished operations
// stay in the log for the next [Open].
func (l *Log) Close() error {
	l.ioMu.Lock()
	defer l.ioMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	l.flushLocked()
	l.closed = true
	l.cond.Broadcast()
	err := l.err
	if l.active != nil {
		if cerr := l.active.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("wal close: %w", cerr)
		}
	}
	return err
}
