package localstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

// commitBatch is a transition shaped like an MLS commit: new group
// context, the changed tree chunk, the new epoch's secrets and own leaf key.
func commitBatch(g []byte, i int, chunk []byte) *engine.Batch {
	k := func(kind engine.Kind, n string) engine.Key { return engine.Key{Group: g, Kind: kind, Name: n} }
	return &engine.Batch{Op: "Commit", Group: g, Puts: []engine.Put{
		{Key: k(engine.KindState, "context"), Value: make([]byte, 200)},
		{Key: k(engine.KindState, fmt.Sprintf("tree_%d", i%16)), Value: chunk},
		{Key: k(engine.KindEpochSecrets, fmt.Sprintf("epoch_%d.bin", i)), Value: make([]byte, 160)},
		{Key: k(engine.KindKeys, "leaf"), Value: make([]byte, 64)},
	}}
}

// benchApply runs b.N durable transitions spread over groups goroutines,
// each on its own group, and reports throughput, fsyncs and bytes written
// per transition (everything until the files are applied and the log is
// checkpointed, included).
func benchApply(b *testing.B, groups int, opts Options, chunkSize int) {
	ctx := context.Background()
	var walSyncs atomic.Int64
	counter := fsx.NewFaulty(fsx.OS{}, fsx.FaultyOptions{Before: func(_ int64, op fsx.Op, path string, _ []byte) {
		if op == fsx.OpSync && strings.Contains(path, string(filepath.Separator)+dirWAL+string(filepath.Separator)) {
			walSyncs.Add(1)
		}
	}})
	s, _, err := Open(ctx, counter, b.TempDir(), opts)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	chunk := make([]byte, chunkSize)
	before := counter.Stats()
	walBefore := walSyncs.Load()
	cpuBefore := cpuTime()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gid := []byte(fmt.Sprintf("bench-group-%02d", g))
			for i := 0; next.Add(1) <= int64(b.N); i++ {
				if err := s.Apply(ctx, commitBatch(gid, i, chunk)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	after := counter.Stats()
	n := float64(b.N)
	syncs := after.Ops[fsx.OpSync] + after.Ops[fsx.OpSyncDir] - before.Ops[fsx.OpSync] - before.Ops[fsx.OpSyncDir]
	b.ReportMetric(n/elapsed.Seconds(), "transitions/s")
	b.ReportMetric(float64(syncs)/n, "fsyncs/op")
	b.ReportMetric(float64(after.BytesWritten-before.BytesWritten)/n, "written-B/op")
	b.ReportMetric(float64(walSyncs.Load()-walBefore)/n, "wal-fsyncs/op")
	b.ReportMetric(float64(after.Ops[fsx.OpCreate]-before.Ops[fsx.OpCreate])/n, "creates/op")
	b.ReportMetric(float64(after.Ops[fsx.OpWrite]-before.Ops[fsx.OpWrite])/n, "writes/op")
	b.ReportMetric(float64((cpuTime()-cpuBefore).Microseconds())/n, "cpu-µs/op")
}

// cpuTime is the user plus system CPU time of the process so far: unlike
// wall-clock time it hardly depends on what else the machine runs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkApply(b *testing.B) {
	for _, groups := range []int{1, 16} {
		for _, mode := range []struct {
			name string
			opts Options
		}{{"background", Options{}}, {"sync", Options{SyncApply: true}}} {
			b.Run(fmt.Sprintf("groups=%d/%s", groups, mode.name), func(b *testing.B) {
				benchApply(b, groups, mode.opts, 2048)
			})
		}
	}
}

// BenchmarkSendMessage is the smallest transition: the sender's ratchet
// generation advances (one small component).
func BenchmarkSendMessage(b *testing.B) {
	for _, groups := range []int{1, 16} {
		b.Run(fmt.Sprintf("groups=%d", groups), func(b *testing.B) {
			ctx := context.Background()
			counter := fsx.NewFaulty(fsx.OS{}, fsx.FaultyOptions{})
			s, _, err := Open(ctx, counter, b.TempDir(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			before := counter.Stats()
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for g := range groups {
				wg.Add(1)
				go func() {
					defer wg.Done()
					gid := []byte(fmt.Sprintf("send-%02d", g))
					for next.Add(1) <= int64(b.N) {
						err := s.Apply(ctx, &engine.Batch{Op: "SendMessage", Group: gid, Puts: []engine.Put{
							{Key: engine.Key{Group: gid, Kind: engine.KindState, Name: "secret_tree"}, Value: make([]byte, 96)}}})
						if err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			if err := s.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			after := counter.Stats()
			syncs := after.Ops[fsx.OpSync] + after.Ops[fsx.OpSyncDir] - before.Ops[fsx.OpSync] - before.Ops[fsx.OpSyncDir]
			b.ReportMetric(float64(syncs)/float64(b.N), "fsyncs/op")
		})
	}
}

// BenchmarkIncremental reports, for a group whose state is split in 16
// tree chunks (about a 1000-member tree at 20 KiB per chunk), the bytes one
// commit writes against the size of the whole state (a full snapshot).
func BenchmarkIncremental(b *testing.B) {
	const chunk = 20 << 10
	ctx := context.Background()
	counter := fsx.NewFaulty(fsx.OS{}, fsx.FaultyOptions{})
	s, _, err := Open(ctx, counter, b.TempDir(), Options{SyncApply: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	g := []byte("big-group")
	for i := range 16 {
		if err := s.Apply(ctx, commitBatch(g, i, make([]byte, chunk))); err != nil {
			b.Fatal(err)
		}
	}
	comps, err := s.GroupComponents(ctx, g)
	if err != nil {
		b.Fatal(err)
	}
	full := 0
	for _, c := range comps {
		full += len(c.Value)
	}
	before := counter.Stats()
	b.ResetTimer()
	for i := range b.N {
		if err := s.Apply(ctx, commitBatch(g, 16+i, make([]byte, chunk))); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	written := float64(counter.Stats().BytesWritten-before.BytesWritten) / float64(b.N)
	b.ReportMetric(written, "written-B/op")
	b.ReportMetric(float64(full), "state-B")
	b.ReportMetric(100*written/float64(full), "%-of-state")
}

// BenchmarkRawFsync is the reference: append 128 bytes to a file and fsync.
func BenchmarkRawFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "raw"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 128)
	b.ResetTimer()
	for range b.N {
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReplaceGroup is restore --all: b.N groups, each imported as one
// ReplaceGroup batch of a snapshot's components, by 32 concurrent workers.
// Everything until the store is flushed is included.
func BenchmarkReplaceGroup(b *testing.B) {
	ctx := context.Background()
	counter := fsx.NewFaulty(fsx.OS{}, fsx.FaultyOptions{})
	s, _, err := Open(ctx, counter, b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	components := func(g []byte) []engine.Put {
		k := func(kind engine.Kind, n string) engine.Key { return engine.Key{Group: g, Kind: kind, Name: n} }
		puts := []engine.Put{
			{Key: k(engine.KindState, "context"), Value: make([]byte, 200)},
			{Key: k(engine.KindState, "tree_0"), Value: make([]byte, 1024)},
			{Key: k(engine.KindState, "secret_tree"), Value: make([]byte, 96)},
			{Key: k(engine.KindKeys, "leaf"), Value: make([]byte, 64)},
		}
		for e := range 3 {
			puts = append(puts, engine.Put{Key: k(engine.KindEpochSecrets, fmt.Sprintf("epoch_%d.bin", e)), Value: make([]byte, 160)})
		}
		return puts
	}
	before := counter.Stats()
	cpuBefore := cpuTime()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				g := []byte(fmt.Sprintf("restored-%06d", i))
				if err := s.ReplaceGroup(ctx, g, components(g)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	after := counter.Stats()
	n := float64(b.N)
	b.ReportMetric(n/b.Elapsed().Seconds(), "groups/s")
	b.ReportMetric(float64(after.Ops[fsx.OpSync]+after.Ops[fsx.OpSyncDir]-before.Ops[fsx.OpSync]-before.Ops[fsx.OpSyncDir])/n, "fsyncs/group")
	b.ReportMetric(float64((cpuTime()-cpuBefore).Microseconds())/n, "cpu-µs/group")
}
