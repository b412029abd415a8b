package fsx

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// SmallDisk is a directory on a disk that a test can fill and free, to
// see how code behaves on a full disk. Where mounting is permitted (root
// on Linux) it is a real tmpfs of the given size mounted on the
// directory, and Fill writes a file until the file system reports ENOSPC;
// elsewhere it is the real file system behind a [Faulty] whose [Full]
// disk Fill switches on. Either way [SmallDisk.FS] is the file system to
// use and Dir the directory on it.
type SmallDisk struct {
	// Dir is the directory on the small disk.
	Dir string
	// Tmpfs tells whether Dir is a real tmpfs (else: a fault-injecting FS).
	Tmpfs bool

	fs   FS
	full *Full
}

// NewSmallDisk makes dir (which must exist and be empty) a small disk of
// size bytes. Call [SmallDisk.Close] to unmount it.
func NewSmallDisk(dir string, size int64) (*SmallDisk, error) {
	return newSmallDisk(dir, size, mountTmpfs)
}

func newSmallDisk(dir string, size int64, mount func(string, int64) error) (*SmallDisk, error) {
	d := &SmallDisk{Dir: dir, fs: OS{}}
	err := mount(dir, size)
	switch {
	case err == nil:
		d.Tmpfs = true
	case errors.Is(err, syscall.EPERM), errors.Is(err, errNoMount):
		d.full = &Full{Under: dir}
		d.fs = NewFaulty(OS{}, FaultyOptions{Inject: d.full.Inject})
	default:
		return nil, fmt.Errorf("small disk: mount tmpfs on %s: %w", dir, err)
	}
	return d, nil
}

// FS is the file system through which Dir must be used.
func (d *SmallDisk) FS() FS { return d.fs }

func (d *SmallDisk) filler() string { return filepath.Join(d.Dir, "filler") }

// Fill takes the free space of the disk, so that writes that need new
// blocks fail with ENOSPC.
func (d *SmallDisk) Fill() error {
	if !d.Tmpfs {
		d.full.Set(true)
		return nil
	}
	f, err := os.OpenFile(d.filler(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("fill %s: %w", d.Dir, err)
	}
	defer f.Close()
	// Smaller and smaller writes take every free block.
	chunk := make([]byte, 64<<10)
	for size := len(chunk); size > 0; size /= 2 {
		for {
			if _, err = f.Write(chunk[:size]); err != nil {
				break
			}
		}
		if !errors.Is(err, syscall.ENOSPC) {
			return fmt.Errorf("fill %s: %w", d.Dir, err)
		}
	}
	return nil
}

// Free gives the space taken by Fill back.
func (d *SmallDisk) Free() error {
	if !d.Tmpfs {
		d.full.Set(false)
		return nil
	}
	if err := os.Remove(d.filler()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("free %s: %w", d.Dir, err)
	}
	return nil
}

// Close unmounts the tmpfs (everything on it is gone).
func (d *SmallDisk) Close() error {
	if !d.Tmpfs {
		return nil
	}
	return unmountTmpfs(d.Dir)
}

var _ io.Closer = (*SmallDisk)(nil)
