//go:build linux

package s3store

import (
	"syscall"
	"time"
)

// processCPU returns the user and system CPU time this process used so
// far; benchmarks report it per operation because a loaded machine
// inflates it much less than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
