package fsx

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Mem is an in-memory [FS] that models what survives a power loss: file
// content is durable only once the file is fsynced, and a directory entry
// (created, renamed, linked or removed) only once its directory is fsynced
// with [FS.SyncDir]. [Mem.Crash] throws away everything that was not made
// durable, as a machine losing power would. Mem is safe for concurrent use.
//
// Paths are slash- or OS-separated; relative paths are taken from "/".
type Mem struct {
	mu    sync.Mutex
	root  *memNode
	locks map[string]bool
}

var _ FS = (*Mem)(nil)
var _ Locker = (*Mem)(nil)

// memNode is an inode: a regular file or a directory.
type memNode struct {
	dir  bool
	mode fs.FileMode
	// data is the current content; synced is what an fsync made durable.
	data, synced []byte
	// entries are the current directory entries; durable those made durable
	// by the last SyncDir.
	entries, durable map[string]*memNode
	mtime            time.Time
}

// NewMem returns an empty in-memory file system holding only "/".
func NewMem() *Mem {
	return &Mem{root: newMemDir(0o700), locks: map[string]bool{}}
}

func newMemDir(perm fs.FileMode) *memNode {
	return &memNode{dir: true, mode: fs.ModeDir | perm, entries: map[string]*memNode{}, durable: map[string]*memNode{}, mtime: time.Now()}
}

// CrashMode selects what [Mem.Crash] keeps.
type CrashMode int

const (
	// PowerLoss drops every byte and directory entry not fsynced.
	PowerLoss CrashMode = iota
	// ProcessKill keeps everything written: the kernel outlives the process.
	ProcessKill
)

// Crash simulates the end of the process (and, for [PowerLoss], of the
// machine): locks are released and, for PowerLoss, the file system reverts to
// its durable state.
func (m *Mem) Crash(mode CrashMode) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.locks = map[string]bool{}
	if mode != PowerLoss {
		return
	}
	seen := map[*memNode]bool{}
	var walk func(n *memNode)
	walk = func(n *memNode) {
		if seen[n] {
			return
		}
		seen[n] = true
		if !n.dir {
			n.data = append([]byte(nil), n.synced...)
			return
		}
		n.entries = make(map[string]*memNode, len(n.durable))
		for name, c := range n.durable {
			n.entries[name] = c
			walk(c)
		}
	}
	walk(m.root)
}

func splitPath(name string) []string {
	p := path.Clean("/" + filepath.ToSlash(name))
	if p == "/" {
		return nil
	}
	return strings.Split(p[1:], "/")
}

// lookup returns the node at name and its parent (nil for "/"). A missing
// final element gives node == nil with its parent and base name set.
func (m *Mem) lookup(name string) (node, parent *memNode, base string, err error) {
	p := filepath.ToSlash(name)
	if needsClean(p) {
		p = path.Clean("/" + p)
	}
	n := m.root
	for len(p) > 0 {
		if p[0] == '/' {
			p = p[1:]
			continue
		}
		part := p
		rest := ""
		if i := strings.IndexByte(p, '/'); i >= 0 {
			part, rest = p[:i], p[i:]
		}
		last := strings.Trim(rest, "/") == ""
		if !n.dir {
			return nil, nil, "", syscallErr("lookup", name, errNotDir)
		}
		c, ok := n.entries[part]
		if !ok {
			if last {
				return nil, n, part, nil
			}
			return nil, nil, "", &fs.PathError{Op: "lookup", Path: name, Err: fs.ErrNotExist}
		}
		if last {
			return c, n, part, nil
		}
		n = c
		p = rest
	}
	return m.root, nil, "", nil
}

// needsClean reports whether p has empty, "." or ".." elements.
func needsClean(p string) bool {
	if p == "/" || p == "" {
		return false
	}
	rest := strings.TrimPrefix(p, "/")
	for {
		part, after, found := strings.Cut(rest, "/")
		if part == "" || part == "." || part == ".." {
			return true
		}
		if !found {
			return false
		}
		rest = after
	}
}

var errNotDir = errors.New("not a directory")

func syscallErr(op, name string, err error) error { return &fs.PathError{Op: op, Path: name, Err: err} }

// OpenFile implements [FS].
func (m *Mem) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, parent, base, err := m.lookup(name)
	if err != nil {
		return nil, err
	}
	if n == nil {
		if parent == nil || flag&os.O_CREATE == 0 {
			return nil, syscallErr("open", name, fs.ErrNotExist)
		}
		n = &memNode{mode: perm & fs.ModePerm, mtime: time.Now()}
		parent.entries[base] = n
	} else if flag&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL {
		return nil, syscallErr("open", name, fs.ErrExist)
	}
	if n.dir && flag&(os.O_WRONLY|os.O_RDWR) != 0 {
		return nil, syscallErr("open", name, errors.New("is a directory"))
	}
	if flag&os.O_TRUNC != 0 {
		n.data = nil
	}
	return &memFile{m: m, n: n, name: name, flag: flag}, nil
}

// Rename implements [FS].
func (m *Mem) Rename(oldpath, newpath string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, op, ob, err := m.lookup(oldpath)
	if err != nil {
		return err
	}
	if n == nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: fs.ErrNotExist}
	}
	t, np, nb, err := m.lookup(newpath)
	if err != nil {
		return err
	}
	if np == nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: fs.ErrNotExist}
	}
	if t != nil && t.dir && len(t.entries) > 0 {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: fs.ErrExist}
	}
	delete(op.entries, ob)
	np.entries[nb] = n
	return nil
}

// Link implements [FS].
func (m *Mem) Link(oldpath, newpath string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, _, _, err := m.lookup(oldpath)
	if err != nil {
		return err
	}
	if n == nil || n.dir {
		return &os.LinkError{Op: "link", Old: oldpath, New: newpath, Err: fs.ErrNotExist}
	}
	t, np, nb, err := m.lookup(newpath)
	if err != nil {
		return err
	}
	if np == nil {
		return &os.LinkError{Op: "link", Old: oldpath, New: newpath, Err: fs.ErrNotExist}
	}
	if t != nil {
		return &os.LinkError{Op: "link", Old: oldpath, New: newpath, Err: fs.ErrExist}
	}
	np.entries[nb] = n
	return nil
}

// Remove implements [FS].
func (m *Mem) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, parent, base, err := m.lookup(name)
	if err != nil {
		return err
	}
	if n == nil || parent == nil {
		return syscallErr("remove", name, fs.ErrNotExist)
	}
	if n.dir && len(n.entries) > 0 {
		return syscallErr("remove", name, errors.New("directory not empty"))
	}
	delete(parent.entries, base)
	return nil
}

// RemoveAll implements [FS].
func (m *Mem) RemoveAll(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, parent, base, err := m.lookup(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if n == nil || parent == nil {
		return nil
	}
	delete(parent.entries, base)
	return nil
}

// MkdirAll implements [FS].
func (m *Mem) MkdirAll(name string, perm fs.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.root
	for _, p := range splitPath(name) {
		c, ok := n.entries[p]
		if !ok {
			c = newMemDir(perm & fs.ModePerm)
			n.entries[p] = c
		} else if !c.dir {
			return syscallErr("mkdir", name, errNotDir)
		}
		n = c
	}
	return nil
}

// ReadFile implements [FS].
func (m *Mem) ReadFile(name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, _, _, err := m.lookup(name)
	if err != nil {
		return nil, err
	}
	if n == nil {
		return nil, syscallErr("open", name, fs.ErrNotExist)
	}
	if n.dir {
		return nil, syscallErr("read", name, errors.New("is a directory"))
	}
	return append([]byte(nil), n.data...), nil
}

// ReadDir implements [FS]; entries are sorted by name.
func (m *Mem) ReadDir(name string) ([]fs.DirEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, _, _, err := m.lookup(name)
	if err != nil {
		return nil, err
	}
	if n == nil {
		return nil, syscallErr("open", name, fs.ErrNotExist)
	}
	if !n.dir {
		return nil, syscallErr("readdir", name, errNotDir)
	}
	out := make([]fs.DirEntry, 0, len(n.entries))
	for base, c := range n.entries {
		out = append(out, fs.FileInfoToDirEntry(memInfo(base, c)))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

// Stat implements [FS].
func (m *Mem) Stat(name string) (fs.FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, _, base, err := m.lookup(name)
	if err != nil {
		return nil, err
	}
	if n == nil {
		return nil, syscallErr("stat", name, fs.ErrNotExist)
	}
	if base == "" {
		base = "/"
	}
	return memInfo(base, n), nil
}

// SyncDir implements [FS]: it makes the directory's current entries durable.
func (m *Mem) SyncDir(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, _, _, err := m.lookup(dir)
	if err != nil {
		return err
	}
	if n == nil || !n.dir {
		return syscallErr("fsync", dir, fs.ErrNotExist)
	}
	n.durable = make(map[string]*memNode, len(n.entries))
	for k, v := range n.entries {
		n.durable[k] = v
	}
	return nil
}

// Lock implements [Locker] with an in-process lock table.
func (m *Mem) Lock(name string) (io.Closer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := path.Clean("/" + filepath.ToSlash(name))
	if m.locks[key] {
		return nil, fmt.Errorf("lock %s: %w", name, ErrLocked)
	}
	m.locks[key] = true
	return closerFunc(func() error {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.locks, key)
		return nil
	}), nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// Clone returns a deep copy of the file system (current and durable state,
// hard links preserved, no locks held), e.g. to crash a copy at this instant.
func (m *Mem) Clone() *Mem {
	m.mu.Lock()
	defer m.mu.Unlock()
	copies := map[*memNode]*memNode{}
	var cp func(n *memNode) *memNode
	cp = func(n *memNode) *memNode {
		if c, ok := copies[n]; ok {
			return c
		}
		c := &memNode{dir: n.dir, mode: n.mode, mtime: n.mtime}
		copies[n] = c
		if !n.dir {
			c.data = append([]byte(nil), n.data...)
			c.synced = append([]byte(nil), n.synced...)
			return c
		}
		c.entries = make(map[string]*memNode, len(n.entries))
		c.durable = make(map[string]*memNode, len(n.durable))
		for k, v := range n.entries {
			c.entries[k] = cp(v)
		}
		for k, v := range n.durable {
			c.durable[k] = cp(v)
		}
		return c
	}
	return &Mem{root: cp(m.root), locks: map[string]bool{}}
}
