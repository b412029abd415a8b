package engine

import (
	"runtime"
	"sync"
)

// parallelFor calls fn(i) for every i in [0, n) on all CPUs when n is at
// least minParallel (smaller loops run inline). It returns the error of
// the lowest failing index; a worker stops at its first failure.
func parallelFor(n, minParallel int, fn func(i int) error) error {
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
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				if errs[i] = fn(i); errs[i] != nil {
					return
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
