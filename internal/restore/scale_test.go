package restore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/testenv"
	"github.com/mlsbackup/mlsbackup/localstore"
	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/s3store"
)

// fleet is one agent's data directory holding many groups of many members.
type fleet struct {
	st     *localstore.Store
	owner  *engine.Client
	groups [][]byte
	epochs sync.Map // group string -> uint64, current epoch
}

// buildFleet creates n groups of size members in st (the other members'
// KeyPackages are reused: only the creator's state is stored here).
func buildFleet(tb testing.TB, st *localstore.Store, n, size, workers int) *fleet {
	tb.Helper()
	ctx := context.Background()
	f := &fleet{st: st, owner: engine.NewClient(st, []byte("owner"), engine.Options{})}
	if _, err := f.owner.SignaturePublicKey(ctx, testSuite); err != nil {
		tb.Fatal(err)
	}
	var kps [][]byte
	for i := 1; i < size; i++ {
		kp, err := newMember(fmt.Sprintf("member-%d", i)).client.CreateKeyPackage(ctx, testSuite, false)
		if err != nil {
			tb.Fatal(err)
		}
		kps = append(kps, kp)
	}
	f.groups = make([][]byte, n)
	for i := range n {
		f.groups[i] = []byte(fmt.Sprintf("scale-%06d", i))
	}
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f.create(ctx, f.groups[i], kps); err != nil {
					errOnce.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		tb.Fatal(first)
	}
	return f
}

func (f *fleet) create(ctx context.Context, gid []byte, kps [][]byte) error {
	g, err := f.owner.CreateGroup(ctx, testSuite, gid)
	if err != nil {
		return fmt.Errorf("create %s: %w", gid, err)
	}
	if _, err := g.Commit(ctx, engine.CommitOptions{Add: kps}); err != nil {
		return fmt.Errorf("add to %s: %w", gid, err)
	}
	if _, err := g.MergePendingCommit(ctx); err != nil {
		return fmt.Errorf("merge %s: %w", gid, err)
	}
	f.epochs.Store(string(gid), g.Epoch())
	return nil
}

// change has the owner commit a self-update in every step-th group.
func (f *fleet) change(tb testing.TB, step int) int {
	tb.Helper()
	ctx := context.Background()
	n := 0
	for i := 0; i < len(f.groups); i += step {
		gid := f.groups[i]
		g, err := engine.LoadGroup(ctx, f.st, gid, engine.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := g.Commit(ctx, engine.CommitOptions{SelfUpdate: true}); err != nil {
			tb.Fatal(err)
		}
		if _, err := g.MergePendingCommit(ctx); err != nil {
			tb.Fatal(err)
		}
		f.epochs.Store(string(gid), g.Epoch())
		n++
	}
	return n
}

// pass snapshots and uploads every group whose epoch moved since its last
// upload (recorded in uploaded), as the agent's cron pass does: export from
// a consistent view, keep the local snapshot file, upload encrypted.
func (f *fleet) pass(ctx context.Context, b *uploader.Backup, uploaded map[string]uint64, workers int) (int, error) {
	var todo [][]byte
	for _, gid := range f.groups {
		e, _ := f.epochs.Load(string(gid))
		if last, ok := uploaded[string(gid)]; !ok || last != e.(uint64) {
			todo = append(todo, gid)
		}
	}
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(todo) {
					return
				}
				data, info, err := engine.ExportSnapshot(ctx, f.st, todo[i])
				if err == nil {
					err = f.st.SaveSnapshot(ctx, info.GroupID, info.Epoch, data)
				}
				if err == nil {
					_, err = b.Upload(ctx, uploader.SnapshotMeta{GroupID: info.GroupID, Epoch: info.Epoch,
						Size: int64(len(data)), Format: "mlsbackup-group-snapshot-v1", EpochAuthenticator: info.EpochAuthenticator},
						bytes.NewReader(data))
				}
				mu.Lock()
				if err != nil && first == nil {
					first = fmt.Errorf("snapshot %s: %w", todo[i], err)
				}
				if err == nil {
					uploaded[string(info.GroupID)] = info.Epoch
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	return len(todo), first
}

// TestScaleSmall runs the scale benchmark's steps on a few groups against a
// directory bucket: full pass, 10% changed pass, restore --all into an empty
// data directory, with every group back at its epoch.
func TestScaleSmall(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, filepath.Join(t.TempDir(), "agent"))
	f := buildFleet(t, st, 20, 4, 2)
	b := newBucket(t)
	uploaded := map[string]uint64{}
	if n, err := f.pass(ctx, b.backup, uploaded, 4); err != nil || n != 20 {
		t.Fatalf("full pass: %d groups, %v; want 20", n, err)
	}
	if got := f.change(t, 10); got != 2 {
		t.Fatalf("changed %d groups, want 2", got)
	}
	if n, err := f.pass(ctx, b.backup, uploaded, 4); err != nil || n != 2 {
		t.Fatalf("changed pass: %d groups, %v; want 2", n, err)
	}
	dst := openStore(t, filepath.Join(t.TempDir(), "restored"))
	res, err := Run(ctx, b.backup, StoreTarget{Storage: dst}, Request{All: true}, Options{Concurrency: 4})
	if err != nil || len(res) != 20 {
		t.Fatalf("restore all: %d results, %v", len(res), err)
	}
	for _, gid := range f.groups {
		g, err := engine.LoadGroup(ctx, dst, gid, engine.Options{})
		if err != nil {
			t.Fatalf("load restored %s: %v", gid, err)
		}
		want, _ := f.epochs.Load(string(gid))
		if g.Epoch() != want.(uint64) || len(g.Members()) != 4 {
			t.Fatalf("restored %s at epoch %d with %d members, want %d with 4", gid, g.Epoch(), len(g.Members()), want)
		}
	}
}

// peakRSSMiB reads the process's peak resident set size (VmHWM).
func peakRSSMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return -1
}

// BenchmarkScale is the scale goal: MLSBACKUP_SCALE_GROUPS groups
// (default 10,000) of 10 members in one data directory, against a local
// MinIO: a full snapshot-and-upload pass, a pass after 1% of the groups
// changed, and restore --all into an empty data directory. Run it with
//
//	go test -run '^$' -bench BenchmarkScale -benchtime 1x ./internal/restore
//
// Each sub-benchmark reports seconds for the whole step and the process's
// peak RSS so far (the setup included).
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
	store, err := s3store.New(ctx, s3store.Config{Bucket: srv.Bucket, Endpoint: srv.Endpoint, Region: srv.Region,
		PathStyle: true, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey})
	if err != nil {
		b.Fatal(err)
	}
	keys := newBucket(b)
	recipient := keys.recipient
	st := openStore(b, filepath.Join(b.TempDir(), "agent"))
	start := time.Now()
	f := buildFleet(b, st, n, 10, 32)
	if err := st.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("setup: %d groups of 10 members in %v, peak RSS %.0f MiB", n, time.Since(start).Round(time.Millisecond), peakRSSMiB())

	const workers = 32
	newBackup := func(b *testing.B, prefix string) *uploader.Backup {
		bk, err := uploader.New(store, uploader.Options{Prefix: prefix, Recipients: []age.Recipient{recipient},
			AgentID: "scale", Concurrency: workers})
		if err != nil {
			b.Fatal(err)
		}
		return bk
	}
	// The 1% pass continues the backup set of the last full pass.
	var (
		last         *uploader.Backup
		lastUploaded map[string]uint64
		runs         int
	)
	b.Run("full-pass", func(b *testing.B) {
		for range b.N {
			runs++
			last, lastUploaded = newBackup(b, fmt.Sprintf("run%d", runs)), map[string]uint64{}
			t0 := time.Now()
			got, err := f.pass(ctx, last, lastUploaded, workers)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(t0).Seconds(), "s/pass")
			b.ReportMetric(float64(got), "groups/pass")
		}
		b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
	})
	b.Run("1pct-pass", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			if last == nil {
				runs++
				last, lastUploaded = newBackup(b, fmt.Sprintf("run%d", runs)), map[string]uint64{}
				if _, err := f.pass(ctx, last, lastUploaded, workers); err != nil {
					b.Fatal(err)
				}
			}
			f.change(b, 100)
			b.StartTimer()
			t0 := time.Now()
			got, err := f.pass(ctx, last, lastUploaded, workers)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(t0).Seconds(), "s/pass")
			b.ReportMetric(float64(got), "groups/pass")
		}
		b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
	})
	b.Run("restore-all", func(b *testing.B) {
		bk, err := uploader.New(store, uploader.Options{Prefix: "run1", Identities: keys.ids, Concurrency: workers})
		if err != nil {
			b.Fatal(err)
		}
		for range b.N {
			dst := openStore(b, filepath.Join(b.TempDir(), "restored"))
			t0 := time.Now()
			if _, err := bk.ListLatest(ctx); err != nil {
				b.Fatal(err)
			}
			b.Logf("list latest: %v", time.Since(t0))
			var fetch, local, imp atomic.Int64
			t0 = time.Now()
			res, err := Run(ctx, timedSource{bk, &fetch}, timedTarget{StoreTarget{Storage: dst}, &local, &imp}, Request{All: true}, Options{Concurrency: workers})
			b.Logf("summed over groups: fetch %v, local epoch %v, import %v", time.Duration(fetch.Load()), time.Duration(local.Load()), time.Duration(imp.Load()))
			if err != nil {
				b.Fatal(err)
			}
			if err := dst.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(t0).Seconds(), "s/restore")
			b.ReportMetric(float64(len(res)), "groups/restore")
		}
		b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
	})
}

// timedSource and timedTarget sum the time spent in each step of a restore
// (across goroutines), to show where a restore --all spends it.
type timedSource struct {
	Source
	fetch *atomic.Int64
}

func (s timedSource) Fetch(ctx context.Context, m uploader.Manifest, w io.Writer) error {
	t0 := time.Now()
	defer func() { s.fetch.Add(int64(time.Since(t0))) }()
	return s.Source.Fetch(ctx, m, w)
}

type timedTarget struct {
	Target
	local, imp *atomic.Int64
}

func (t timedTarget) LocalEpoch(ctx context.Context, g []byte) (uint64, bool, error) {
	t0 := time.Now()
	defer func() { t.local.Add(int64(time.Since(t0))) }()
	return t.Target.LocalEpoch(ctx, g)
}

func (t timedTarget) Import(ctx context.Context, s []byte, replace bool) (engine.SnapshotInfo, error) {
	t0 := time.Now()
	defer func() { t.imp.Add(int64(time.Since(t0))) }()
	return t.Target.Import(ctx, s, replace)
}
