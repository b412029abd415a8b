package restore

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
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

	// reportRequests reports the object-store requests and fsyncs made
	// since the counts p0, g0, l0 and s0, per pass.
	reportCounts := func(b *testing.B, p0, g0, l0, s0, s1 int64) {
		p, g, l := store.requests()
		b.ReportMetric(float64(p-p0)/float64(b.N), "PUTs/op")
		b.ReportMetric(float64(g-g0)/float64(b.N), "GETs/op")
		b.ReportMetric(float64(l-l0)/float64(b.N), "LISTs/op")
		b.ReportMetric(float64(s1-s0)/float64(b.N), "fsyncs/op")
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
		sa = startAgent(b, dir, store, keys.recipient, fmt.Sprintf("run%d", runs))
	}
	b.Run("full-pass", func(b *testing.B) {
		var secs float64
		var s0, s1 int64
		p0, g0, l0 := store.requests()
		for range b.N {
			b.StopTimer()
			newAgent(b)
			s := sa.fsyncs()
			b.StartTimer()
			t0 := time.Now()
			ev, err := sa.a.SnapshotPass(ctx)
			if err != nil {
				b.Fatal(err)
			}
			secs += time.Since(t0).Seconds()
			s1 += sa.fsyncs() - s
			b.ReportMetric(float64(ev.Requested), "groups/pass")
		}
		b.ReportMetric(secs/float64(b.N), "s/pass")
		reportCounts(b, p0, g0, l0, s0, s1)
		b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
	})
	b.Run("1pct-pass", func(b *testing.B) {
		var secs float64
		var s0, s1 int64
		var p0, g0, l0 int64
		for i := range b.N {
			b.StopTimer()
			if sa == nil {
				newAgent(b)
				if _, err := sa.a.SnapshotPass(ctx); err != nil {
					b.Fatal(err)
				}
			}
			f.change(b, sa.a, 100)
			s := sa.fsyncs()
			p, g, l := store.requests()
			if i == 0 {
				p0, g0, l0 = p, g, l
			}
			b.StartTimer()
			t0 := time.Now()
			ev, err := sa.a.SnapshotPass(ctx)
			if err != nil {
				b.Fatal(err)
			}
			secs += time.Since(t0).Seconds()
			s1 += sa.fsyncs() - s
			b.ReportMetric(float64(ev.Requested), "groups/pass")
		}
		b.ReportMetric(secs/float64(b.N), "s/pass")
		reportCounts(b, p0, g0, l0, s0, s1)
		b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
	})
	if sa != nil {
		sa.stop(b)
		sa = nil
	}
	b.Run("restore-all", func(b *testing.B) {
		bk := restoreBackup(b, store, "run1", keys.ids)
		var secs float64
		var s1 int64
		p0, g0, l0 := store.requests()
		for range b.N {
			b.StopTimer()
			fs := fsx.NewFaulty(fsx.OS{}, fsx.FaultyOptions{})
			dst, _, err := localstore.Open(ctx, fs, filepath.Join(b.TempDir(), "restored"), localstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			var list, manifest, fetch, local, imp atomic.Int64
			b.StartTimer()
			t0 := time.Now()
			res, err := Run(ctx, timedSource{bk, &list, &manifest, &fetch}, timedTarget{StoreTarget{Storage: dst}, &local, &imp}, Request{All: true}, Options{})
			if err == nil {
				err = dst.Flush(ctx)
			}
			if err != nil {
				b.Fatal(err)
			}
			secs += time.Since(t0).Seconds()
			b.StopTimer()
			if err := dst.Close(); err != nil {
				b.Fatal(err)
			}
			st := fs.Stats()
			s1 += st.Ops[fsx.OpSync] + st.Ops[fsx.OpSyncDir]
			b.Logf("listing %v; summed over groups: manifest %v, fetch %v, local epoch %v, import %v", time.Duration(list.Load()),
				time.Duration(manifest.Load()), time.Duration(fetch.Load()), time.Duration(local.Load()), time.Duration(imp.Load()))
			b.ReportMetric(float64(len(res)), "groups/restore")
			b.StartTimer()
		}
		b.ReportMetric(secs/float64(b.N), "s/restore")
		reportCounts(b, p0, g0, l0, 0, s1)
		b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
	})
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

func (t timedTarget) Import(ctx context.Context, s []byte, replace bool) (engine.SnapshotInfo, error) {
	t0 := time.Now()
	defer func() { t.imp.Add(int64(time.Since(t0))) }()
	return t.StoreTarget.Import(ctx, s, replace)
}
