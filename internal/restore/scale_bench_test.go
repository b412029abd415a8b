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
//
// The full pass and restore-all run twice each, side by side: signed (the
// product) and unsigned (encryption.allow_unsigned, the format before
// issue 13), so that the cost of signing and checking shows as a ratio
// measured in one run. -count N repeats the pairs.
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

	// timed runs fn and adds its wall time, CPU time (this process and
	// MinIO) and object-store requests to st.
	timed := func(b *testing.B, st *scaleStep, label string, fn func()) {
		if dir := os.Getenv("MLSBACKUP_SCALE_PROFILE"); dir != "" {
			stop := startProfile(b, filepath.Join(dir, strings.ReplaceAll(b.Name()+label, "/", "_")+".cpu"))
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
	report := func(b *testing.B, st scaleStep, unit string) {
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
	// reportPair reports the signed side as report does and the unsigned
	// side's time and CPU beside it, with the ratios signed/unsigned.
	reportPair := func(b *testing.B, st [2]scaleStep, unit string) {
		report(b, st[0], unit)
		n := float64(b.N)
		b.ReportMetric(st[1].secs/n, "s/"+unit+"-unsigned")
		b.ReportMetric(st[1].cpu/n, "CPU-s/op-unsigned")
		b.ReportMetric(st[1].minioCPU/n, "MinIO-CPU-s/op-unsigned")
		b.ReportMetric(st[0].secs/st[1].secs, "signed/unsigned-s")
		b.ReportMetric(st[0].cpu/st[1].cpu, "signed/unsigned-CPU")
		b.ReportMetric((st[0].cpu+st[0].minioCPU)/(st[1].cpu+st[1].minioCPU), "signed/unsigned-CPU+MinIO")
	}
	// sides are the two sides of the comparison in iteration i: which
	// goes first alternates, and the last iteration ends signed.
	sides := func(b *testing.B, i int) []bool {
		if (b.N-1-i)%2 == 0 {
			return []bool{false, true}
		}
		return []bool{true, false}
	}
	side := func(signed bool) int {
		if signed {
			return 0
		}
		return 1
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
	// firstPrefix is, per side, the prefix of its first full pass, which
	// restore-all restores; saSigned is the running agent's side.
	firstPrefix := map[bool]string{}
	saSigned := false
	newAgent := func(b *testing.B, signed bool) {
		if sa != nil {
			sa.stop(b)
		}
		runs++
		prefix := fmt.Sprintf("run%d", runs)
		if _, ok := firstPrefix[signed]; !ok {
			firstPrefix[signed] = prefix
		}
		sa, saSigned = startAgent(b, dir, store, keys, prefix, signed), signed
	}
	// The full pass with signing (the product) and without
	// (encryption.allow_unsigned), each on a fresh prefix, alternated.
	b.Run("full-pass", func(b *testing.B) {
		var st [2]scaleStep
		for i := range b.N {
			for _, signed := range sides(b, i) {
				b.StopTimer()
				newAgent(b, signed)
				s0 := sa.fsyncs()
				b.StartTimer()
				k := side(signed)
				timed(b, &st[k], fmt.Sprintf("-signed=%v-%d", signed, i), func() {
					ev, err := sa.a.SnapshotPass(ctx)
					if err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(float64(ev.Requested), "groups/pass")
				})
				st[k].fsyncs += sa.fsyncs() - s0
			}
		}
		reportPair(b, st, "pass")
	})
	b.Run("1pct-pass", func(b *testing.B) {
		var st scaleStep
		for range b.N {
			b.StopTimer()
			if sa == nil || !saSigned {
				newAgent(b, true)
				if _, err := sa.a.SnapshotPass(ctx); err != nil {
					b.Fatal(err)
				}
			}
			f.change(b, sa.a, 100)
			s0 := sa.fsyncs()
			b.StartTimer()
			timed(b, &st, "", func() {
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
	// restore --all of the signed and the unsigned prefix, alternated.
	b.Run("restore-all", func(b *testing.B) {
		bks := [2]*uploader.Backup{restoreBackup(b, store, firstPrefix[true], keys, true), restoreBackup(b, store, firstPrefix[false], keys, false)}
		var st [2]scaleStep
		for i := range b.N {
			for _, signed := range sides(b, i) {
				k := side(signed)
				restoreAll(b, bks[k], ropts, &st[k], func(st *scaleStep, fn func()) { timed(b, st, fmt.Sprintf("-signed=%v-%d", signed, i), fn) })
			}
		}
		reportPair(b, st, "restore")
	})
}

// restoreAll restores bk --all once into an empty data directory, the
// restore timed (with BenchmarkScale's timed) into st.
func restoreAll(b *testing.B, bk *uploader.Backup, ropts Options, st *scaleStep, timed func(*scaleStep, func())) {
	ctx := context.Background()
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
	timed(st, func() {
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

// scaleStep sums what the measured steps of a sub-benchmark of
// BenchmarkScale cost.
type scaleStep struct {
	secs, cpu, minioCPU float64
	puts, gets, lists   int64
	fsyncs              int64
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

func (s timedSource) ReadManifestUnder(ctx context.Context, r uploader.Ref, h *uploader.Head) (uploader.Manifest, error) {
	t0 := time.Now()
	defer func() { s.manifest.Add(int64(time.Since(t0))) }()
	return s.Backup.ReadManifestUnder(ctx, r, h)
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
