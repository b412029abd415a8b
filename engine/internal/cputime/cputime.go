// Package cputime reads the CPU time the process has used, for benchmarks
// that report it beside wall time: on a machine shared with other work,
// other processes inflate wall time far more than CPU time.
package cputime

import "time"

// Process returns the user plus system CPU time of all the process's
// threads, and whether the platform reports it.
func Process() (time.Duration, bool) { return process() }
