//go:build !linux

package s3store

import "time"

// processCPU is not measured outside Linux; benchmarks report 0.
func processCPU() time.Duration { return 0 }
