//go:build unix

package suite

import (
	"syscall"
	"testing"
)

// processCPU returns the user plus system CPU time the process has used,
// in nanoseconds.
func processCPU(b *testing.B) int64 {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
