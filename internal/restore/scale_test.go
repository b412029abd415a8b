package restore

import (
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

	"filippo.io/age"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/agent"
	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/localstore"
	"github.com/mlsbackup/mlsbackup/uploader"
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

// scaleAgent is the real agent (package agent) running over a fleet's data
// directory, so that the benchmark measures the product's snapshot pass.
type scaleAgent struct {
	a      *agent.Agent
	fs     *fsx.Faulty // counts the agent's file-system operations
	cancel context.CancelFunc
	done   chan error
}

// startAgent opens and runs an agent over dataDir with identity owner,
// uploading to prefix of store, with cron and every-N-epochs off (passes
// run on request, through the same code as a cron pass). Unless signed,
// it runs without a signing key (encryption.allow_unsigned), for the
// benchmark's comparison.
func startAgent(tb testing.TB, dataDir string, store uploader.ObjectStore, keys *bucket, prefix string, signed bool) *scaleAgent {
	tb.Helper()
	cfg := config.Default()
	cfg.DataDir = dataDir
	cfg.ClientName = "owner"
	cfg.Destination.Prefix = prefix
	cfg.Encryption.Recipients = []string{fmt.Sprint(keys.recipient)}
	cfg.Snapshot.EveryEpochs = 0
	cfg.Snapshot.Jitter = 0
	key := keys.key
	if !signed {
		key, cfg.Encryption.AllowUnsigned = nil, true
	}
	fs := fsx.NewFaulty(fsx.OS{}, fsx.FaultyOptions{})
	a, err := agent.Open(context.Background(), cfg, nil, agent.Options{Store: store, Recipients: []age.Recipient{keys.recipient}, SigningKey: key, FS: fs})
	if err != nil {
		tb.Fatalf("open agent: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sa := &scaleAgent{a: a, fs: fs, cancel: cancel, done: make(chan error, 1)}
	go func() { sa.done <- a.Run(ctx) }()
	return sa
}

// stop shuts the agent down (it releases the data directory).
func (sa *scaleAgent) stop(tb testing.TB) {
	tb.Helper()
	if sa.cancel == nil {
		return
	}
	sa.cancel()
	sa.cancel = nil
	if err := <-sa.done; err != nil {
		tb.Fatalf("agent run: %v", err)
	}
}

// fsyncs is the number of file and directory fsyncs the agent made so far.
func (sa *scaleAgent) fsyncs() int64 {
	st := sa.fs.Stats()
	return st.Ops[fsx.OpSync] + st.Ops[fsx.OpSyncDir]
}

// change has the agent commit a self-update in every step-th group.
func (f *fleet) change(tb testing.TB, a *agent.Agent, step int) int {
	tb.Helper()
	ctx := context.Background()
	n := 0
	for i := 0; i < len(f.groups); i += step {
		gid := f.groups[i]
		r, err := a.Update(ctx, "", gid, false)
		if err != nil {
			tb.Fatal(err)
		}
		f.epochs.Store(string(gid), r.Epoch)
		n++
	}
	return n
}

// countingStore counts the requests made to an object store.
type countingStore struct {
	uploader.ObjectStore
	puts, gets, lists atomic.Int64
}

func (c *countingStore) Put(ctx context.Context, key string, r io.Reader, size int64, ifNoneMatch bool) error {
	c.puts.Add(1)
	return c.ObjectStore.Put(ctx, key, r, size, ifNoneMatch)
}

func (c *countingStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	c.gets.Add(1)
	return c.ObjectStore.Get(ctx, key)
}

func (c *countingStore) List(ctx context.Context, prefix string) ([]uploader.ObjectInfo, error) {
	c.lists.Add(1)
	return c.ObjectStore.List(ctx, prefix)
}

// requests returns the counts so far as "PUT n, GET n, LIST n".
func (c *countingStore) requests() (puts, gets, lists int64) {
	return c.puts.Load(), c.gets.Load(), c.lists.Load()
}

// TestScaleSmall runs the scale benchmark's steps on a few groups against a
// directory bucket: the agent's full pass, a pass after 10% changed,
// restore --all into an empty data directory, with every group back at its
// epoch.
func TestScaleSmall(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "agent")
	st := openStore(t, dir)
	f := buildFleet(t, st, 20, 4, 2)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	b := newBucket(t)
	store, err := dirstoreNew(b.dir)
	if err != nil {
		t.Fatal(err)
	}
	sa := startAgent(t, dir, store, b, "scale", true)
	defer sa.stop(t)
	if ev, err := sa.a.SnapshotPass(ctx); err != nil || ev.Requested != 20 {
		t.Fatalf("full pass: %d groups, %v; want 20", ev.Requested, err)
	}
	if got := f.change(t, sa.a, 10); got != 2 {
		t.Fatalf("changed %d groups, want 2", got)
	}
	if ev, err := sa.a.SnapshotPass(ctx); err != nil || ev.Requested != 2 {
		t.Fatalf("changed pass: %d groups, %v; want 2", ev.Requested, err)
	}
	sa.stop(t)
	dst := openStore(t, filepath.Join(t.TempDir(), "restored"))
	res, err := Run(ctx, restoreBackup(t, store, "scale", b, true), StoreTarget{Storage: dst}, Request{All: true}, Options{})
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

// restoreBackup is the backup set under prefix of store, able to decrypt
// and trusting keys' signer; unless signed it reads unsigned manifests.
func restoreBackup(tb testing.TB, store uploader.ObjectStore, prefix string, keys *bucket, signed bool) *uploader.Backup {
	tb.Helper()
	bk, err := uploader.New(store, uploader.Options{Prefix: prefix, Identities: keys.ids, TrustedSigners: keys.signers, AllowUnsigned: !signed})
	if err != nil {
		tb.Fatal(err)
	}
	return bk
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

// cpuSeconds returns the CPU time (user + system) used so far by this
// process and by its running child processes (the MinIO server the
// benchmark started), read from /proc; -1 where it cannot be read.
func cpuSeconds() (self, children float64) {
	self, children = -1, 0
	read := func(pid string) (ppid int, secs float64, ok bool) {
		b, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			return 0, 0, false
		}
		// Fields after the parenthesized command: state ppid ... utime(14) stime(15).
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			return 0, 0, false
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 13 {
			return 0, 0, false
		}
		ppid, _ = strconv.Atoi(f[1])
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		return ppid, (ut + st) / 100, true // USER_HZ is 100 on Linux
	}
	if _, s, ok := read("self"); ok {
		self = s
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return self, -1
	}
	me := os.Getpid()
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		if ppid, s, ok := read(e.Name()); ok && ppid == me {
			children += s
		}
	}
	return self, children
}
