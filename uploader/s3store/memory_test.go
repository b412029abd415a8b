package s3store

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/uploader/storetest"
)

// TestPutMemoryBounded streams an object eight times the part buffers'
// total through Put and checks that the heap never grows by more than
// the part buffers (with room for garbage and the SDK): the object is
// never held in memory.
func TestPutMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("128 MiB upload: skipped in -short mode")
	}
	srv := sharedMinIO.Server(t)
	s := newTestStore(t, srv, func(c *Config) { c.Concurrency = 3 })
	cfg := s.Config()
	buffers := uint64(cfg.Concurrency+1) * uint64(cfg.PartSize)
	size := int64(8 * buffers)

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	})
	src := storetest.NewStream(8, size)
	err := s.Put(t.Context(), "mem/large", src, size, false)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	growth := int64(peak.Load()) - int64(base)
	limit := int64(2*buffers) + 24<<20
	t.Logf("object %d MiB, part buffers %d MiB, peak heap growth %d MiB", size>>20, buffers>>20, growth>>20)
	if growth > limit {
		t.Fatalf("heap grew by %d MiB uploading %d MiB; want at most %d MiB", growth>>20, size>>20, limit>>20)
	}
}
