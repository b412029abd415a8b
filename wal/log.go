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
	"sync/atomic"

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
	// ErrWriteFailed is wrapped by the error of every call whose record
	// was not written because a write or fsync of the log failed (a full
	// disk, an I/O error): see "Failed writes" in the package doc.
	ErrWriteFailed = errors.New("wal: write failed")
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
	// lostErr is set when the Begin record was lost with a failed write:
	// the operation is on no disk and ends at its next Commit or Abort.
	lostErr error
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

	mu       sync.Mutex
	cond     *sync.Cond
	buf      []byte // encoded records not yet written
	appended uint64 // records appended to buf, ever (tickets)
	// synced counts the records whose fate is known: durable, or lost
	// with a failed write (see lost).
	synced uint64
	// durable is the highest ticket made durable by an fsync; every
	// ticket up to it is durable unless lost.
	durable atomic.Uint64
	chain   uint32 // chained CRC of the last record appended
	// good is where the records made durable end in the active segment.
	good position
	// undo reverts the in-memory effect of the records not yet durable.
	undo []undoEntry
	// lost are the tickets of records lost with failed writes.
	lost     lostTickets
	failures atomic.Uint64
	// broken is set while a failed write is not cleaned up: appends are
	// refused until a repair succeeds.
	broken    error
	brokenFix repairKind
	closed    bool
	nextID    uint64
	ops       map[uint64]*opState
	firstSeg  uint64
	activeSeq uint64
	active    fsx.File
	activeLen int64 // bytes in the active segment, including buf
	completed []Completed
}

// position is an offset in the active segment and the chained CRC there.
type position struct {
	len   int64
	chain uint32
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
		l.good = position{len: res.activeEnd, chain: res.chain}
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
// closing the previous one, which holds nothing that is not durable. mu
// and ioMu are held (or access is exclusive). If it fails, the previous
// segment stays active.
func (l *Log) activate(h segmentHeader) error {
	f, err := l.fs.OpenFile(filepath.Join(l.dir, segmentName(h.seq)), osAppend, filePerm)
	if err != nil {
		return fmt.Errorf("open segment: %w", err)
	}
	if l.active != nil {
		// Everything in it is fsynced: a failed close loses nothing.
		if err := l.active.Close(); err != nil {
			l.logger.Warn("wal: close segment", "seq", l.activeSeq, "err", err)
		}
	}
	l.active = f
	l.activeSeq = h.seq
	l.activeLen = segmentHeaderSize
	l.chain = chainSeed(h.encode())
	l.good = position{len: l.activeLen, chain: l.chain}
	return nil
}

// appendLocked encodes a record into the buffer; mu is held. It returns
// the record's sequence number (its ticket) for [Log.waitDurable]. A log
// whose last failed write is not cleaned up yet tries to repair it first.
func (l *Log) appendLocked(t recordType, payload []byte) (uint64, error) {
	if l.closed {
		return 0, ErrClosed
	}
	if len(payload) > MaxPayload {
		return 0, ErrTooLarge
	}
	if l.broken != nil && l.ioMu.TryLock() {
		l.repairLocked()
		l.ioMu.Unlock()
	}
	if l.broken != nil {
		return 0, l.broken
	}
	before := len(l.buf)
	l.buf, l.chain = appendRecord(l.buf, l.chain, t, payload)
	l.activeLen += int64(len(l.buf) - before)
	l.appended++
	return l.appended, nil
}

// waitDurable returns once record seq is on stable storage, flushing the
// buffer itself if no other goroutine is (group commit), or an error
// wrapping [ErrWriteFailed] if the record was lost with a failed write.
// mu is held.
func (l *Log) waitDurable(seq uint64) error {
	for l.synced < seq {
		if l.ioMu.TryLock() {
			l.flushLocked(true)
			l.ioMu.Unlock()
			l.cond.Broadcast()
			continue
		}
		l.cond.Wait()
	}
	if err := l.lost.find(seq); err != nil {
		return err
	}
	return nil
}

// flushLocked writes and fsyncs the buffer. mu and ioMu are held on entry
// and exit; mu is released during I/O if release is set. If the write or
// the fsync fails, every record not yet durable is lost (see
// [Log.loseLocked]).
func (l *Log) flushLocked(release bool) {
	if l.broken != nil || l.synced == l.appended {
		return
	}
	data, target, f := l.buf, l.appended, l.active
	end := position{len: l.activeLen, chain: l.chain}
	l.buf = nil
	if release {
		l.mu.Unlock()
	}
	var err error
	syncFailed := false
	if len(data) > 0 {
		_, err = f.Write(data)
	}
	if err == nil {
		if err = f.Sync(); err != nil {
			syncFailed = true
		}
	}
	if release {
		l.mu.Lock()
	}
	if err != nil {
		l.loseLocked(fmt.Errorf("write segment %s: %w", segmentName(l.activeSeq), err), syncFailed)
		return
	}
	l.synced = target
	l.durable.Store(target)
	l.good = end
	l.dropUndo(target)
	l.cond.Broadcast()
}

// Sync makes every record appended so far durable. It first retries the
// repair of a failed write, if one is pending.
func (l *Log) Sync(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("wal sync: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if l.broken != nil && l.ioMu.TryLock() {
		l.repairLocked()
		l.ioMu.Unlock()
	}
	if l.broken != nil {
		return l.broken
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
	// Records still buffered were never acknowledged (a commit counts
	// only once its fsync returned): losing them with a failed write
	// loses nothing a caller was told is durable.
	l.flushLocked(true)
	l.closed = true
	l.cond.Broadcast()
	var err error
	if l.broken != nil {
		err = fmt.Errorf("wal close: %w", l.broken)
	}
	if l.active != nil {
		if cerr := l.active.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("wal close: %w", cerr)
		}
	}
	return err
}
