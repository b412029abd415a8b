package engine

import (
	"fmt"
	"math"
	"testing"
)

// TestRecordNames checks the record names against their fmt definitions
// (the layout doc.go documents) and that they parse back.
func TestRecordNames(t *testing.T) {
	for _, c := range []struct {
		epoch uint64
		leaf  uint32
	}{{0, 0}, {1, 7}, {12345, 999}, {math.MaxUint64, math.MaxUint32}} {
		if got, want := ratchetName(c.epoch, c.leaf), fmt.Sprintf("ratchet_%020d_%010d.bin", c.epoch, c.leaf); got != want {
			t.Errorf("ratchetName(%d, %d) = %q, want %q", c.epoch, c.leaf, got, want)
		}
		if e, l, ok := parseRatchetName(ratchetName(c.epoch, c.leaf)); !ok || e != c.epoch || l != c.leaf {
			t.Errorf("parseRatchetName(ratchetName(%d, %d)) = %d, %d, %v", c.epoch, c.leaf, e, l, ok)
		}
		if got, want := epochName(c.epoch), fmt.Sprintf("epoch_%020d.bin", c.epoch); got != want {
			t.Errorf("epochName(%d) = %q, want %q", c.epoch, got, want)
		}
		if e, ok := parseEpochName(epochName(c.epoch)); !ok || e != c.epoch {
			t.Errorf("parseEpochName(epochName(%d)) = %d, %v", c.epoch, e, ok)
		}
	}
}
