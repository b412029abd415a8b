package restore

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/internal/testenv"
	"github.com/mlsbackup/mlsbackup/localstore"
	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/s3store"
)

// BenchmarkScale is the scale goal: MLSBACKUP_SCALE_GROUPS groups
// (default 10,000) of 10 members in one data directory, against a local
// MinIO. The full pass and the 1% pass are the real agent's snapshot pass
// (package agent's SnapshotPass: the cron pass's code, with the agent's
// scheduler, export, local snapshot file and upload); restore-all is
// [Run] with the CLI's default concurrency into an empty data directory,
// listing included. Run it with
//
//	go test -run '^$' -bench BenchmarkScale -benchtime 1x -v ./internal/restore
//
// Each sub-benchmark reports seconds for the whole step, the fsyncs and
// object-store requests it made (counts that machine load does not change)
// and the process's peak RSS so far (the setup included).
func BenchmarkScale(b *testing.B) {
	n := 10000
	if s := os.Getenv("MLSBACKUP_SCALE_GROUPS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("MLSBACKUP_SCALE_GROUPS=%q is not a positive number", s)
		}
		n = v
	}
	ctx := context.Background()
	srv := testenv.MinIO(b)
	s3, err := s3store.New(ctx, s3store.Config{Bucket: srv.Bucket, Endpoint: srv.Endpoint, Region: srv.Region,
		PathStyle: true, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey})
	if err != nil {
		b.Fatal(err)
	}
	store := &countingStore{ObjectStore: s3}
	keys := newBucket(b)
	dir := filepath.Join(b.TempDir(), "agent")
	st := openStore(b, dir)
	start := time.Now()
	f := buildFleet(b, st, n, 10, 32)
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	b.Logf("setup: %d groups of 10 members in %v, peak RSS %.0f MiB", n, time.Since(start).Round(time.Millisecond), peakRSSMiB())

	// step sums what the measured steps of a sub-benchmark cost.
	type step struct {
		secs, cpu, minioCPU float64
		puts, gets, lists   int64
		fsyncs              int64
	}
	// timed runs fn and adds its wall time, CPU time (this process and
	// MinIO) and object-store requests to st.
	timed := func(b *testing.B, st *step, fn func()) {
		if dir := os.Getenv("MLSBACKUP_SCALE_PROFILE"); dir != "" {
			stop := startProfile(b, filepath.Join(dir, strings.ReplaceAll(b.Name(), "/", "_")+".cpu"))
			defer stop()
		}
		s0, c0 := cpuSeconds()
		p0, g0, l0 := store.requests()
		t0 := time.Now()
		fn()
		st.secs += time.Since(t0).Seconds()
		s1, c1 := cpuSeconds()
		p1, g1, l1 := store.requests()
		st.cpu, st.minioCPU = st.cpu+s1-s0, st.minioCPU+c1-c0
		st.puts, st.gets, st.lists = st.puts+p1-p0, st.gets+g1-g0, st.lists+l1-l0
	}
	report := func(b *testing.B, st step, unit string) {
		n := float64(b.N)
		b.ReportMetric(st.secs/n, "s/"+unit)
		b.ReportMetric(float64(st.puts)/n, "PUTs/op")
		b.ReportMetric(float64(st.gets)/n, "GETs/op")
		b.ReportMetric(float64(st.lists)/n, "LISTs/op")
		b.ReportMetric(float64(st.fsyncs)/n, "fsyncs/op")
		b.ReportMetric(st.cpu/n, "CPU-s/op")
		b.ReportMetric(st.minioCPU/n, "MinIO-CPU-s/op")
		b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
	}
	// Each full pass uploads to a fresh prefix (nothing uploaded yet); the
	// 1% pass continues the last one. The agent runs until restore-all.
	var (
		sa   *scaleAgent
		runs int
	)
	defer func() {
		if sa != nil {
			sa.stop(b)
		}
	}()
	newAgent := func(b *testing.B) {
		if sa != nil {
			sa.stop(b)
		}
		runs++
		sa = startAgent(b, dir, store, keys, fmt.Sprintf("run%d", runs))
	}
	b.Run("full-pass", func(b *testing.B) {
		var st step
		for range b.N {
			b.StopTimer()
			newAgent(b)
			s0 := sa.fsyncs()
			b.StartTimer()
			timed(b, &st, func() {
				ev, err := sa.a.SnapshotPass(ctx)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(ev.Requested), "groups/pass")
			})
			st.fsyncs += sa.fsyncs() - s0
		}
		report(b, st, "pass")
	})
	b.Run("1pct-pass", func(b *testing.B) {
		var st step
		for range b.N {
			b.StopTimer()
			if sa == nil {
				newAgent(b)
				if _, err := sa.a.SnapshotPass(ctx); err != nil {
					b.Fatal(err)
				}
			}
			f.change(b, sa.a, 100)
			s0 := sa.fsyncs()
			b.StartTimer()
			timed(b, &st, func() {
				ev, err := sa.a.SnapshotPass(ctx)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(ev.Requested), "groups/pass")
			})
			st.fsyncs += sa.fsyncs() - s0
		}
		report(b, st, "pass")
	})
	if sa != nil {
		sa.stop(b)
		sa = nil
	}
	// MLSBACKUP_SCALE_RESTORE_CONCURRENCY overrides the CLI's default
	// --concurrency, to compare settings.
	var ropts Options
	if s := os.Getenv("MLSBACKUP_SCALE_RESTORE_CONCURRENCY"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("MLSBACKUP_SCALE_RESTORE_CONCURRENCY=%q is not a positive number", s)
		}
		ropts.Concurrency = v
	}
	b.Run("restore-all", func(b *testing.B) {
		bk := restoreBackup(b, store, "run1", keys)
		var st step
		for range b.N {
			b.StopTimer()
			fs := fsx.NewFaulty(fsx.OS{}, fsx.FaultyOptions{})
			dst, _, err := localstore.Open(ctx, fs, filepath.Join(b.TempDir(), "restored"), localstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			s0 := fs.Stats()
			var list, manifest, fetch, local, imp atomic.Int64
			var res []Result
			b.StartTimer()
			timed(b, &st, func() {
				res, err = Run(ctx, timedSource{bk, &list, &manifest, &fetch}, timedTarget{StoreTarget{Storage: dst}, &local, &imp}, Request{All: true}, ropts)
				if err == nil {
					err = dst.Flush(ctx)
				}
				if err != nil {
					b.Fatal(err)
				}
			})
			b.StopTimer()
			s1 := fs.Stats()
			st.fsyncs += s1.Ops[fsx.OpSync] + s1.Ops[fsx.OpSyncDir] - s0.Ops[fsx.OpSync] - s0.Ops[fsx.OpSyncDir]
			if err := dst.Close(); err != nil {
				b.Fatal(err)
			}
			b.Logf("listing %v; summed over groups: manifest %v, fetch %v, local epoch %v, import %v", time.Duration(list.Load()),
				time.Duration(manifest.Load()), time.Duration(fetch.Load()), time.Duration(local.Load()), time.Duration(imp.Load()))
			b.ReportMetric(float64(len(res)), "groups/restore")
			b.StartTimer()
		}
		report(b, st, "restore")
	})
}

// startProfile writes a CPU profile of what runs until stop to path
// (MLSBACKUP_SCALE_PROFILE=dir profiles each measured step on its own).
func startProfile(tb testing.TB, path string) (stop func()) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		tb.Fatalf("%v (run without -cpuprofile to profile the steps)", err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			tb.Error(err)
		}
	}
}

// timedSource and timedTarget sum the time spent in each step of a restore
// (across goroutines), to show where a restore --all spends it.
type timedSource struct {
	*uploader.Backup
	list, manifest, fetch *atomic.Int64
}

func (s timedSource) ListRefs(ctx context.Context, g []byte) ([]uploader.Ref, error) {
	t0 := time.Now()
	defer func() { s.list.Add(int64(time.Since(t0))) }()
	return s.Backup.ListRefs(ctx, g)
}

func (s timedSource) ReadManifest(ctx context.Context, r uploader.Ref) (uploader.Manifest, error) {
	t0 := time.Now()
	defer func() { s.manifest.Add(int64(time.Since(t0))) }()
	return s.Backup.ReadManifest(ctx, r)
}

func (s timedSource) Fetch(ctx context.Context, m uploader.Manifest, w io.Writer) error {
	t0 := time.Now()
	defer func() { s.fetch.Add(int64(time.Since(t0))) }()
	return s.Backup.Fetch(ctx, m, w)
}

type timedTarget struct {
	StoreTarget
	local, imp *atomic.Int64
}

func (t timedTarget) LocalEpoch(ctx context.Context, g []byte) (uint64, bool, error) {
	t0 := time.Now()
	defer func() { t.local.Add(int64(time.Since(t0))) }()
	return t.StoreTarget.LocalEpoch(ctx, g)
}

func (t timedTarget) importChecked(ctx context.Context, s []byte, replace bool, check func(engine.SnapshotInfo) error) (engine.SnapshotInfo, error) {
	t0 := time.Now()
	defer func() { t.imp.Add(int64(time.Since(t0))) }()
	return t.StoreTarget.importChecked(ctx, s, replace, check)
}

func (t timedTarget) Import(ctx context.Context, s []byte, replace bool) (engine.SnapshotInfo, error) {
	t0 := time.Now()
	defer func() { t.imp.Add(int64(time.Since(t0))) }()
	return t.StoreTarget.Import(ctx, s, replace)
}
