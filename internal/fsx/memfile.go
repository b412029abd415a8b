package fsx

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// memFile is an open file of a [Mem].
type memFile struct {
	m      *Mem
	n      *memNode
	name   string
	flag   int
	pos    int64
	closed bool
}

var errClosed = errors.New("file already closed")

func (f *memFile) check(op string, write bool) error {
	if f.closed {
		return syscallErr(op, f.name, errClosed)
	}
	if write && f.flag&(os.O_WRONLY|os.O_RDWR) == 0 {
		return syscallErr(op, f.name, errors.New("bad file descriptor"))
	}
	if !write && f.flag&os.O_WRONLY != 0 {
		return syscallErr(op, f.name, errors.New("bad file descriptor"))
	}
	return nil
}

func (f *memFile) Read(p []byte) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check("read", false); err != nil {
		return 0, err
	}
	if f.pos >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.n.data[f.pos:])
	f.pos += int64(n)
	return n, nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check("read", false); err != nil {
		return 0, err
	}
	if off >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.n.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check("write", true); err != nil {
		return 0, err
	}
	if f.flag&os.O_APPEND != 0 {
		f.pos = int64(len(f.n.data))
	}
	end := f.pos + int64(len(p))
	if end > int64(len(f.n.data)) {
		if end <= int64(cap(f.n.data)) {
			f.n.data = f.n.data[:end]
		} else {
			grown := make([]byte, end, 2*end)
			copy(grown, f.n.data)
			f.n.data = grown
		}
	}
	copy(f.n.data[f.pos:], p)
	f.pos = end
	f.n.mtime = time.Now()
	return len(p), nil
}

func (f *memFile) Seek(offset int64, whence int) (int64, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check("seek", false); err != nil && f.closed {
		return 0, err
	}
	var base int64
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		base = f.pos
	case io.SeekEnd:
		base = int64(len(f.n.data))
	default:
		return 0, syscallErr("seek", f.name, errors.New("invalid whence"))
	}
	if base+offset < 0 {
		return 0, syscallErr("seek", f.name, errors.New("negative position"))
	}
	f.pos = base + offset
	return f.pos, nil
}

func (f *memFile) Close() error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if f.closed {
		return syscallErr("close", f.name, errClosed)
	}
	f.closed = true
	return nil
}

// Sync makes the file's current content durable.
func (f *memFile) Sync() error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if f.closed {
		return syscallErr("sync", f.name, errClosed)
	}
	f.n.synced = append(f.n.synced[:0:0], f.n.data...)
	return nil
}

func (f *memFile) Truncate(size int64) error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check("truncate", true); err != nil {
		return err
	}
	if size < 0 {
		return syscallErr("truncate", f.name, errors.New("negative size"))
	}
	if size <= int64(len(f.n.data)) {
		f.n.data = f.n.data[:size:size]
	} else {
		f.n.data = append(f.n.data, make([]byte, size-int64(len(f.n.data)))...)
	}
	return nil
}

func (f *memFile) Stat() (fs.FileInfo, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	return memInfo(filepath.Base(f.name), f.n), nil
}

func (f *memFile) Name() string { return f.name }

// memFileInfo implements fs.FileInfo for a [Mem] node.
type memFileInfo struct {
	name  string
	size  int64
	mode  fs.FileMode
	mtime time.Time
}

func memInfo(name string, n *memNode) fs.FileInfo {
	return memFileInfo{name: name, size: int64(len(n.data)), mode: n.mode, mtime: n.mtime}
}

func (i memFileInfo) Name() string       { return i.name }
func (i memFileInfo) Size() int64        { return i.size }
func (i memFileInfo) Mode() fs.FileMode  { return i.mode }
func (i memFileInfo) ModTime() time.Time { return i.mtime }
func (i memFileInfo) IsDir() bool        { return i.mode.IsDir() }
func (i memFileInfo) Sys() any           { return nil }
