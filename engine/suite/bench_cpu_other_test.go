//go:build !unix

package suite

import "testing"

// processCPU is not measured outside unix; the cpu-ns/op metric reads 0.
func processCPU(b *testing.B) int64 { return 0 }
