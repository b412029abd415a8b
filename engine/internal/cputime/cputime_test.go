package cputime

import (
	"crypto/sha256"
	"testing"
)

// TestProcessAdvances checks that CPU work shows in Process.
func TestProcessAdvances(t *testing.T) {
	before, ok := Process()
	if !ok {
		t.Skip("the platform reports no process CPU time")
	}
	sum := sha256.Sum256(nil)
	for range 200_000 {
		sum = sha256.Sum256(sum[:])
	}
	after, _ := Process()
	if after <= before {
		t.Fatalf("CPU time went from %v to %v over 200000 hashes", before, after)
	}
}
