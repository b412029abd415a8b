package fsx

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync/atomic"
)

// ErrCrashed is returned by every operation of a [Faulty] once it has
// stopped the world.
var ErrCrashed = errors.New("fsx: injected crash")

// Op is a class of mutating file-system operation counted by [Faulty].
type Op int

// The operations [Faulty] counts; each is one possible crash point.
const (
	OpCreate  Op = iota // OpenFile with O_CREATE, MkdirAll
	OpWrite             // File.Write, File.Truncate
	OpSync              // File.Sync
	OpSyncDir           // FS.SyncDir
	OpRename            // FS.Rename
	OpLink              // FS.Link
	OpRemove            // FS.Remove, FS.RemoveAll
	numOps
)

var opNames = [numOps]string{"create", "write", "sync", "syncdir", "rename", "link", "remove"}

// String returns the operation's name.
func (o Op) String() string {
	if o < 0 || o >= numOps {
		return fmt.Sprintf("op(%d)", int(o))
	}
	return opNames[o]
}

// Stats counts the operations a [Faulty] has seen.
type Stats struct {
	// Ops counts each [Op]; indexes are Op values.
	Ops [numOps]int64
	// BytesWritten sums the lengths passed to File.Write.
	BytesWritten int64
}

// Total is the number of counted operations.
func (s Stats) Total() int64 {
	var t int64
	for _, n := range s.Ops {
		t += n
	}
	return t
}

// Faulty wraps an [FS], counts every mutating operation and, when armed,
// "stops the world" at the k-th one: that operation fails (a write may
// first write a torn prefix) and every later operation of any kind fails
// with [ErrCrashed], as if the process had died. Combined with [Mem] and
// [Mem.Crash] it also loses what was not fsynced. It can also fail single
// operations and keep going ([FaultyOptions.Inject]), as a full disk or a
// failing device does. Unarmed (k = 0, no Inject), it is a cheap operation
// and byte counter. Safe for concurrent use.
type Faulty struct {
	fs      FS
	failAt  int64
	torn    bool
	before  func(n int64, op Op, path string, data []byte)
	inject  func(op Op, path string, data []byte) (keep int, err error)
	count   atomic.Int64
	crashed atomic.Bool
	ops     [numOps]atomic.Int64
	bytes   atomic.Int64
	// CrashOp is the operation that crashed; valid once Crashed is true.
	crashOp atomic.Int64
}

var _ FS = (*Faulty)(nil)
var _ Locker = (*Faulty)(nil)

// FaultyOptions configures [NewFaulty].
type FaultyOptions struct {
	// FailAt is the 1-based index of the operation that crashes; 0 never crashes.
	FailAt int64
	// Torn makes a crashing write first write the first half of its bytes.
	Torn bool
	// Before, if set, is called before every counted operation runs, with
	// its 1-based index, the path it acts on (for renames and links, the
	// new path; for file writes, the file's name) and, for writes, the
	// bytes. A test can copy the file system there to examine a crash at
	// that instant without re-running everything before it.
	Before func(n int64, op Op, path string, data []byte)
	// Inject, if set, is asked before every counted operation that is not
	// the crash point whether it fails with a transient error instead (a
	// full disk, an I/O error): a non-nil err makes that one operation fail
	// with it, wrapped in an *fs.PathError, without stopping the world. For
	// a write, the first keep bytes are written before it fails (a short
	// write); keep is ignored for other operations. See [Full].
	Inject func(op Op, path string, data []byte) (keep int, err error)
}

// NewFaulty wraps fsys.
func NewFaulty(fsys FS, opts FaultyOptions) *Faulty {
	return &Faulty{fs: fsys, failAt: opts.FailAt, torn: opts.Torn, before: opts.Before, inject: opts.Inject}
}

// Crashed reports whether the world has stopped.
func (f *Faulty) Crashed() bool { return f.crashed.Load() }

// CrashOp returns the operation at which the world stopped (valid if [Faulty.Crashed]).
func (f *Faulty) CrashOp() Op { return Op(f.crashOp.Load()) }

// Stats returns the counters so far.
func (f *Faulty) Stats() Stats {
	var s Stats
	for i := range s.Ops {
		s.Ops[i] = f.ops[i].Load()
	}
	s.BytesWritten = f.bytes.Load()
	return s
}

// Count is the number of counted operations so far, including failed ones.
func (f *Faulty) Count() int64 { return f.count.Load() }

// alive fails once crashed; used by operations that are not crash points.
func (f *Faulty) alive() error {
	if f.crashed.Load() {
		return ErrCrashed
	}
	return nil
}

// step counts one operation. crash is true if this very operation is the
// crash point; err is non-nil if the operation must not run (for an
// injected fault, keep is how many bytes of a write run first).
func (f *Faulty) step(op Op, path string, data []byte) (crash bool, keep int, err error) {
	if f.crashed.Load() {
		return false, 0, ErrCrashed
	}
	n := f.count.Add(1)
	f.ops[op].Add(1)
	if f.before != nil {
		f.before(n, op, path, data)
	}
	if f.failAt <= 0 || n < f.failAt {
		if f.inject != nil {
			if keep, err := f.inject(op, path, data); err != nil {
				return false, min(max(keep, 0), len(data)), &fs.PathError{Op: op.String(), Path: path, Err: err}
			}
		}
		return false, 0, nil
	}
	if n == f.failAt {
		f.crashOp.Store(int64(op))
		f.crashed.Store(true)
		return true, 0, fmt.Errorf("%s: %w", op, ErrCrashed)
	}
	return false, 0, ErrCrashed
}

// OpenFile implements [FS].
func (f *Faulty) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	if flag&os.O_CREATE != 0 {
		if _, _, err := f.step(OpCreate, name, nil); err != nil {
			return nil, err
		}
	} else if err := f.alive(); err != nil {
		return nil, err
	}
	file, err := f.fs.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultyFile{f: f, file: file}, nil
}

func (f *Faulty) simple(op Op, path string, do func() error) error {
	if _, _, err := f.step(op, path, nil); err != nil {
		return err
	}
	return do()
}

// Rename implements [FS].
func (f *Faulty) Rename(oldpath, newpath string) error {
	return f.simple(OpRename, newpath, func() error { return f.fs.Rename(oldpath, newpath) })
}

// Link implements [FS].
func (f *Faulty) Link(oldpath, newpath string) error {
	return f.simple(OpLink, newpath, func() error { return f.fs.Link(oldpath, newpath) })
}

// Remove implements [FS].
func (f *Faulty) Remove(name string) error {
	return f.simple(OpRemove, name, func() error { return f.fs.Remove(name) })
}

// RemoveAll implements [FS].
func (f *Faulty) RemoveAll(path string) error {
	return f.simple(OpRemove, path, func() error { return f.fs.RemoveAll(path) })
}

// MkdirAll implements [FS].
func (f *Faulty) MkdirAll(path string, perm fs.FileMode) error {
	return f.simple(OpCreate, path, func() error { return f.fs.MkdirAll(path, perm) })
}

// SyncDir implements [FS].
func (f *Faulty) SyncDir(dir string) error {
	return f.simple(OpSyncDir, dir, func() error { return f.fs.SyncDir(dir) })
}

// ReadFile implements [FS].
func (f *Faulty) ReadFile(name string) ([]byte, error) {
	if err := f.alive(); err != nil {
		return nil, err
	}
	return f.fs.ReadFile(name)
}

// ReadDir implements [FS].
func (f *Faulty) ReadDir(name string) ([]fs.DirEntry, error) {
	if err := f.alive(); err != nil {
		return nil, err
	}
	return f.fs.ReadDir(name)
}

// Stat implements [FS].
func (f *Faulty) Stat(name string) (fs.FileInfo, error) {
	if err := f.alive(); err != nil {
		return nil, err
	}
	return f.fs.Stat(name)
}

// Lock implements [Locker] if the wrapped FS does.
func (f *Faulty) Lock(name string) (io.Closer, error) {
	if err := f.alive(); err != nil {
		return nil, err
	}
	l, ok := f.fs.(Locker)
	if !ok {
		return nil, fmt.Errorf("lock %s: file system cannot lock", name)
	}
	return l.Lock(name)
}

// faultyFile is an open file of a [Faulty].
type faultyFile struct {
	f    *Faulty
	file File
}

func (ff *faultyFile) Write(p []byte) (int, error) {
	crash, keep, err := ff.f.step(OpWrite, ff.file.Name(), p)
	if err != nil {
		if crash && ff.f.torn && len(p) > 1 {
			keep = len(p) / 2
		}
		if keep > 0 {
			n, _ := ff.file.Write(p[:keep])
			ff.f.bytes.Add(int64(n))
			return n, err
		}
		return 0, err
	}
	n, err := ff.file.Write(p)
	ff.f.bytes.Add(int64(n))
	return n, err
}

func (ff *faultyFile) Sync() error {
	if _, _, err := ff.f.step(OpSync, ff.file.Name(), nil); err != nil {
		return err
	}
	return ff.file.Sync()
}

func (ff *faultyFile) Truncate(size int64) error {
	if _, _, err := ff.f.step(OpWrite, ff.file.Name(), nil); err != nil {
		return err
	}
	return ff.file.Truncate(size)
}

func (ff *faultyFile) Read(p []byte) (int, error) {
	if err := ff.f.alive(); err != nil {
		return 0, err
	}
	return ff.file.Read(p)
}

func (ff *faultyFile) ReadAt(p []byte, off int64) (int, error) {
	if err := ff.f.alive(); err != nil {
		return 0, err
	}
	return ff.file.ReadAt(p, off)
}

func (ff *faultyFile) Seek(offset int64, whence int) (int64, error) {
	if err := ff.f.alive(); err != nil {
		return 0, err
	}
	return ff.file.Seek(offset, whence)
}

// Close always closes the underlying file (a dead process's descriptors
// are closed by the kernel) but reports [ErrCrashed] after the crash.
func (ff *faultyFile) Close() error {
	err := ff.file.Close()
	if cerr := ff.f.alive(); cerr != nil {
		return cerr
	}
	return err
}

func (ff *faultyFile) Stat() (fs.FileInfo, error) {
	if err := ff.f.alive(); err != nil {
		return nil, err
	}
	return ff.file.Stat()
}

func (ff *faultyFile) Name() string { return ff.file.Name() }
