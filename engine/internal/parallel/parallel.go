// Package parallel spreads independent calls over the CPUs for the
// engine's bulk work: the HPKE encryptions of a path or a Welcome, the
// leaf-signature checks of a joiner, the key-pair derivations of a path.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// chunk is how many consecutive indices a worker takes at a time: enough
// to keep the shared counter cold, few enough that the workers finish
// together when one of them is slowed (by the GC, or by other work on its
// CPU).
const chunk = 4

// For calls fn(i) for every i in [0, n), spreading the calls over all
// CPUs when n is at least minParallel (smaller loops run inline, where
// goroutines would cost more than they save). Workers take the next
// indices from a shared counter, so a slowed worker does not hold the
// others up. After a failure no worker starts new indices; For returns
// the error of the lowest failed index among those that ran.
func For(n, minParallel int, fn func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n)
	if n < minParallel || workers < 2 {
		for i := range n {
			if err := fn(i); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, n)
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for !failed.Load() {
				lo := int(next.Add(chunk)) - chunk
				if lo >= n {
					return
				}
				for i := lo; i < min(lo+chunk, n); i++ {
					if errs[i] = fn(i); errs[i] != nil {
						failed.Store(true)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
