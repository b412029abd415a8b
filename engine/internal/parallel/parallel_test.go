package parallel

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
)

// TestForCallsEachIndexOnce checks that every index is called exactly
// once, inline and in parallel, for sizes around the chunk size.
func TestForCallsEachIndexOnce(t *testing.T) {
	for _, n := range []int{0, 1, 3, 4, 5, 17, 1000} {
		for _, minParallel := range []int{1, 4, 2000} {
			calls := make([]atomic.Int32, n)
			if err := For(n, minParallel, func(i int) error { calls[i].Add(1); return nil }); err != nil {
				t.Fatal(err)
			}
			for i := range calls {
				if got := calls[i].Load(); got != 1 {
					t.Fatalf("n=%d, minParallel=%d: index %d called %d times", n, minParallel, i, got)
				}
			}
		}
	}
}

// TestForReturnsLowestError checks that, of several failing indices, the
// error of the lowest that ran is returned, and that an error stops the
// loop before every index is called.
func TestForReturnsLowestError(t *testing.T) {
	errBad := errors.New("bad")
	var called atomic.Int32
	err := For(1000, 1, func(i int) error {
		called.Add(1)
		if i%100 == 7 {
			return fmt.Errorf("index %d: %w", i, errBad)
		}
		return nil
	})
	if !errors.Is(err, errBad) || err.Error() != "index 7: bad" {
		t.Fatalf("got %v, want the error of index 7", err)
	}
	if n := called.Load(); n == 1000 {
		t.Fatal("every index ran after a failure")
	}
	inline := For(10, 100, func(i int) error {
		if i >= 3 {
			return fmt.Errorf("index %d", i)
		}
		return nil
	})
	if inline == nil || inline.Error() != "index 3" {
		t.Fatalf("inline: got %v, want index 3", inline)
	}
}
