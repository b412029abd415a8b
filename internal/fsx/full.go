package fsx

import (
	"strings"
	"sync/atomic"
	"syscall"
)

// Full is a full disk that a test switches on and off, for
// [FaultyOptions.Inject] (pass [Full.Inject]). While it is on, as on a real
// file system without free blocks: a write fails with ENOSPC after writing
// the first half of its bytes (a short write), and creating a file or a
// directory fails with ENOSPC; shrinking a file, fsync, rename, removal and
// reads keep working, so that space can be freed. If Under is set, only
// paths that start with it are full. Safe for concurrent use.
type Full struct {
	// Under limits the full disk to paths with this prefix ("" is all).
	Under string

	on   atomic.Bool
	hits atomic.Int64
}

// Set fills the disk (true) or frees space (false).
func (f *Full) Set(full bool) { f.on.Store(full) }

// Hits is the number of operations that failed with ENOSPC so far.
func (f *Full) Hits() int64 { return f.hits.Load() }

// Inject implements the [FaultyOptions.Inject] hook.
func (f *Full) Inject(op Op, path string, data []byte) (int, error) {
	if !f.on.Load() || !strings.HasPrefix(path, f.Under) {
		return 0, nil
	}
	switch {
	case op == OpWrite && data != nil, op == OpCreate:
		f.hits.Add(1)
		return len(data) / 2, syscall.ENOSPC
	}
	return 0, nil
}
