package uploader_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/s3store"
	"github.com/mlsbackup/mlsbackup/uploader/storetest"
)

// Benchmarks of the pipeline against a local MinIO, each paired with a raw,
// unencrypted PutObject of the same bytes through the same s3store — the
// transport bound. Run (figures in BENCHMARKS.md):
//
//	go test ./uploader -run '^$' -bench 'Upload$' -benchtime 20x
//	go test ./uploader -run '^$' -bench 'UploadMany|PeakHeap' -benchtime 1x

// benchBackup returns a Backup on a fresh MinIO bucket, storing snapshots
// of up to 64 KiB encrypted inline (one PUT each), the raw store and a CPU
// meter of this process and the MinIO server.
func benchBackup(b *testing.B) (*uploader.Backup, uploader.ObjectStore, cpuMeter) {
	b.Helper()
	srv := sharedMinIO.Server(b)
	store := s3Store(b, srv, nil)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	bk, err := uploader.New(store, uploader.Options{
		Prefix: "bench", Recipients: []age.Recipient{id.Recipient()}, AgentID: "bench",
		InlineMax: uploader.DefaultInlineMax,
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := bk.AcquireLease(b.Context()); err != nil {
		b.Fatal(err)
	}
	return bk, store, newCPUMeter(srv.Endpoint)
}

func randomData(b *testing.B, n int) []byte {
	data := make([]byte, n)
	if _, err := rand.Read(data); err != nil {
		b.Fatal(err)
	}
	return data
}

func BenchmarkUpload(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"1KiB", 1 << 10}, {"256KiB", 256 << 10}, {"64MiB", 64 << 20}} {
		data := randomData(b, size.n)
		b.Run("size="+size.name+"/mode=age", func(b *testing.B) {
			bk, _, cpu := benchBackup(b)
			b.SetBytes(int64(size.n))
			defer reportCPU(b, cpu)()
			for i := 0; b.Loop(); i++ {
				_, err := bk.Upload(b.Context(), uploader.SnapshotMeta{
					GroupID: []byte("bench-group"), Epoch: uint64(i), Size: int64(size.n),
				}, bytes.NewReader(data))
				if err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("size="+size.name+"/mode=raw", func(b *testing.B) {
			_, store, cpu := benchBackup(b)
			b.SetBytes(int64(size.n))
			defer reportCPU(b, cpu)()
			for i := 0; b.Loop(); i++ {
				err := store.Put(b.Context(), fmt.Sprintf("raw/%d", i), bytes.NewReader(data), int64(size.n), true)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// reportCPU starts measuring CPU time and returns a function that reports
// the client's and the server's CPU milliseconds per operation.
func reportCPU(b *testing.B, cpu cpuMeter) func() {
	c0, s0 := cpu.read()
	return func() {
		c1, s1 := cpu.read()
		b.ReportMetric(float64((c1-c0).Microseconds())/1e3/float64(b.N), "client-cpu-ms/op")
		b.ReportMetric(float64((s1-s0).Microseconds())/1e3/float64(b.N), "server-cpu-ms/op")
	}
}

// manyObjects and manyConcurrency shape BenchmarkUploadMany.
const (
	manyObjects     = 10_000
	manySize        = 2 << 10
	manyConcurrency = 32
)

// BenchmarkUploadMany uploads 10,000 small snapshots (2 KiB each, 32 at a
// time) per iteration and reports seconds per 10,000.
func BenchmarkUploadMany(b *testing.B) {
	data := randomData(b, manySize)
	run := func(b *testing.B, cpu cpuMeter, put func(ctx context.Context, i int) error) {
		b.SetBytes(manyObjects * manySize)
		var elapsed time.Duration
		client0, server0 := cpu.read()
		for b.Loop() {
			start := time.Now()
			var next atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, manyConcurrency)
			for range manyConcurrency {
				wg.Go(func() {
					for {
						i := int(next.Add(1)) - 1
						if i >= manyObjects {
							return
						}
						if err := put(b.Context(), i); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
			elapsed += time.Since(start)
		}
		b.ReportMetric(elapsed.Seconds()/float64(b.N), "s/10k")
		// CPU seconds per 10,000, which a loaded machine inflates less
		// than wall time: on an idle 2-core machine the wall time is at
		// least (client+server)/2.
		client1, server1 := cpu.read()
		b.ReportMetric((client1-client0).Seconds()/float64(b.N), "client-cpu-s/10k")
		b.ReportMetric((server1-server0).Seconds()/float64(b.N), "server-cpu-s/10k")
	}
	b.Run("mode=age", func(b *testing.B) {
		bk, _, cpu := benchBackup(b)
		var round atomic.Int64
		run(b, cpu, func(ctx context.Context, i int) error {
			_, err := bk.Upload(ctx, uploader.SnapshotMeta{
				GroupID: fmt.Appendf(nil, "group-%05d", i), Epoch: uint64(round.Add(1)), Size: manySize,
			}, bytes.NewReader(data))
			return err
		})
	})
	b.Run("mode=raw", func(b *testing.B) {
		_, store, cpu := benchBackup(b)
		var round atomic.Int64
		run(b, cpu, func(ctx context.Context, i int) error {
			return store.Put(ctx, fmt.Sprintf("raw/%05d/%d", i, round.Add(1)), bytes.NewReader(data), manySize, true)
		})
	})
}

// BenchmarkPeakHeap1GiB streams a 1 GiB snapshot, generated as it is
// read, and reports the peak Go heap in use, sampled every 10 ms. The goal
// is 64 MiB plus the store's part buffers (s3store: Concurrency+1 parts of
// PartSize, 5 x 16 MiB by default). Its name avoids "Upload" so that
// -bench patterns for the throughput benchmarks do not start it; each
// iteration deletes its object so repeated runs do not fill the disk.
func BenchmarkPeakHeap1GiB(b *testing.B) {
	const size = 1 << 30
	bk, store, _ := benchBackup(b)
	b.SetBytes(size)
	var peak, base uint64
	for i := 0; b.Loop(); i++ {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base = maxU(base, ms.HeapInuse)
		stop := make(chan struct{})
		done := make(chan uint64)
		go func() {
			var ms runtime.MemStats
			var max uint64
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			for {
				runtime.ReadMemStats(&ms)
				max = maxU(max, ms.HeapInuse)
				select {
				case <-stop:
					done <- max
					return
				case <-t.C:
				}
			}
		}()
		m, err := bk.Upload(b.Context(), uploader.SnapshotMeta{
			GroupID: []byte("big-group"), Epoch: uint64(i), Size: size,
		}, storetest.NewStream(uint64(i), size))
		close(stop)
		peak = maxU(peak, <-done)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		for _, key := range []string{m.Key, m.DataKey} {
			if key == "" {
				continue
			}
			if err := store.Delete(b.Context(), key); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(base)/(1<<20), "base-heap-MiB")
	b.ReportMetric(float64((s3store.DefaultConcurrency+1)*s3store.DefaultPartSize)/(1<<20), "part-buffers-MiB")
}

func maxU(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}
