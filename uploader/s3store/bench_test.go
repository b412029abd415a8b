package s3store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/testenv"
)

// BenchmarkPut measures raw (unencrypted) Put to a local MinIO: one
// PutObject up to the part size, a multipart upload above it. It is the
// transport bound for the encrypting pipeline.
func BenchmarkPut(b *testing.B) {
	srv := sharedMinIO.Server(b)
	s := newTestStore(b, srv, func(c *Config) {
		c.PartSize = DefaultPartSize
		c.Concurrency = DefaultConcurrency
	})
	sizes := []struct {
		name string
		n    int
	}{
		{"1KiB", 1 << 10},
		{"256KiB", 256 << 10},
		{"64MiB", 64 << 20},
	}
	for _, sz := range sizes {
		data := randomBytes(sz.n)
		b.Run(sz.name, func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			i := 0
			for b.Loop() {
				key := fmt.Sprintf("bench/%s/%d", sz.name, i)
				i++
				if err := s.Put(b.Context(), key, bytes.NewReader(data), int64(len(data)), true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPutManySmall measures 10,000 objects of 1 KiB put (with
// If-None-Match) by 32 goroutines; one iteration is the whole batch. It
// runs against MinIO and, for comparison, versitygw.
func BenchmarkPutManySmall(b *testing.B) {
	for _, sv := range servers() {
		b.Run(sv.name, func(b *testing.B) {
			benchManySmall(b, sv.shared.Server(b))
		})
	}
}

func benchManySmall(b *testing.B, srv *testenv.Server) {
	const objects, workers, size = 10000, 32, 1 << 10
	s := newTestStore(b, srv, nil)
	data := randomBytes(size)
	b.SetBytes(objects * size)
	round := 0
	for b.Loop() {
		round++
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for range workers {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= objects {
						return
					}
					key := fmt.Sprintf("many/%d/%05d", round, i)
					if err := s.Put(b.Context(), key, bytes.NewReader(data), size, true); err != nil {
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
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/10k-objects")
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(b)
	return b
}
