package fsx

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// ErrLocked is returned by [Locker.Lock] when another holder has the lock.
var ErrLocked = errors.New("fsx: lock held by another process")

// Locker is implemented by file systems that can take an exclusive,
// advisory, process-wide lock on a file. The lock is released by closing the
// returned [io.Closer], or when the process ends.
type Locker interface {
	// Lock takes the exclusive lock on name, creating the file if needed.
	// It does not wait: if the lock is held it returns an error wrapping
	// [ErrLocked].
	Lock(name string) (io.Closer, error)
}

// SharedLocker is implemented by file systems that can also take a
// shared lock, for readers that must not write (not even a lock file): it
// excludes, and is excluded by, [Locker.Lock].
type SharedLocker interface {
	// LockShared takes a shared lock on the existing file name, opened
	// read-only. It does not wait: if an exclusive lock is held it returns
	// an error wrapping [ErrLocked].
	LockShared(name string) (io.Closer, error)
}

var (
	_ Locker       = OS{}
	_ SharedLocker = OS{}
)

// Lock implements [Locker] with flock(2) (LOCK_EX|LOCK_NB).
func (OS) Lock(name string) (io.Closer, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	return flock(f, syscall.LOCK_EX)
}

// LockShared implements [SharedLocker] with flock(2) (LOCK_SH|LOCK_NB).
func (OS) LockShared(name string) (io.Closer, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	return flock(f, syscall.LOCK_SH)
}

// flock locks f without waiting (how is LOCK_EX or LOCK_SH); it closes f
// if that fails.
func flock(f *os.File, how int) (io.Closer, error) {
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock %s: %w", f.Name(), ErrLocked)
		}
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return f, nil
}
