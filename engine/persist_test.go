package engine

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/keyschedule"
	"github.com/mlsbackup/mlsbackup/engine/suite"
)

// recordingStorage wraps a MemStorage and keeps every applied batch.
type recordingStorage struct {
	*MemStorage
	mu      sync.Mutex
	batches []*Batch
}

func (r *recordingStorage) Apply(ctx context.Context, b *Batch) error {
	r.mu.Lock()
	r.batches = append(r.batches, b)
	r.mu.Unlock()
	return r.MemStorage.Apply(ctx, b)
}

func batchBytes(b *Batch) int {
	n := 0
	for _, p := range b.Puts {
		n += len(p.Value)
	}
	return n
}

func dumpBytes(m map[string][]byte) int {
	n := 0
	for _, v := range m {
		n += len(v)
	}
	return n
}

const suite1 = suite.X25519AES128GCMSHA256Ed25519

// twoMembersF is twoMembers for fuzz targets.
func twoMembersF(f *testing.F) (*member, *member) { return twoMembers(f, Options{}) }

// twoMembers returns alice and bob in one group of suite 1.
func twoMembers(t testing.TB, opts Options) (*member, *member) {
	t.Helper()
	ctx := context.Background()
	a, b := newMember("alice"), newMember("bob")
	a.client = NewClient(a.st, []byte("alice"), opts)
	b.client = NewClient(b.st, []byte("bob"), opts)
	var err error
	if a.g, err = a.client.CreateGroup(ctx, suite1, []byte("group")); err != nil {
		t.Fatal(err)
	}
	out := commitAndDeliver(t, a, CommitOptions{Add: [][]byte{b.keyPackage(t, suite1)}})
	if b.g, err = b.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
		t.Fatal(err)
	}
	return a, b
}

func epochFiles(t *testing.T, m *member) []string {
	t.Helper()
	names, err := m.st.List(context.Background(), m.g.GroupID(), KindEpochSecrets)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestRetention checks that only the newest RetainEpochs epochs keep
// secrets, that only the current one keeps its init secret, and that a late
// application message of a retained epoch still opens.
func TestRetention(t *testing.T) {
	ctx := context.Background()
	a, b := twoMembers(t, Options{RetainEpochs: 3})
	late, err := a.g.Encrypt(ctx, []byte("late"), nil)
	if err != nil {
		t.Fatal(err)
	}
	commitAndDeliver(t, a, CommitOptions{SelfUpdate: true}, b)
	r, err := b.g.Process(ctx, late)
	if err != nil || string(r.ApplicationData) != "late" {
		t.Fatalf("late message: got %v, %v", r, err)
	}
	if _, err := b.g.Process(ctx, late); !errors.Is(err, ErrReplay) {
		t.Fatalf("replayed late message: got %v, want ErrReplay", err)
	}
	for i := 0; i < 6; i++ {
		commitAndDeliver(t, b, CommitOptions{SelfUpdate: true}, a)
	}
	for _, m := range []*member{a, b} {
		var names []string
		for _, n := range epochFiles(t, m) {
			if _, ok := parseEpochName(n); ok {
				names = append(names, n)
			} else if e, _, ok := parseRatchetName(n); !ok || e+3 <= m.g.Epoch() {
				t.Fatalf("%s: stray or expired component %s", m.name, n)
			}
		}
		if got, want := len(names), 3; got != want {
			t.Fatalf("%s: %d epoch files %v, want %d", m.name, got, names, want)
		}
		for _, n := range names {
			e, _ := parseEpochName(n)
			b, _ := m.st.Get(ctx, Key{Group: m.g.GroupID(), Kind: KindEpochSecrets, Name: n})
			var rec epochRecord
			if err := codec.Unmarshal(b, &rec); err != nil {
				t.Fatal(err)
			}
			var ep keyschedule.Epoch
			if err := ep.UnmarshalBinary(rec.Secrets); err != nil {
				t.Fatal(err)
			}
			current := e == m.g.Epoch()
			for name, sec := range map[string][]byte{"init": ep.InitSecret, "exporter": ep.ExporterSecret, "external": ep.ExternalSecret,
				"confirmation": ep.ConfirmationKey, "membership": ep.MembershipKey} {
				if zero := bytes.Equal(sec, make([]byte, len(sec))); zero == current {
					t.Fatalf("%s: epoch %d (current %v) %s secret zero=%v", m.name, e, current, name, zero)
				}
			}
		}
	}
	// Messages of an epoch beyond retention are refused.
	if _, err := b.g.Process(ctx, late); !errors.Is(err, ErrWrongEpoch) {
		t.Fatalf("expired epoch: got %v, want ErrWrongEpoch", err)
	}
}

// TestLease checks that sending writes once per lease block and that after
// a reload the sender continues past the lease.
func TestLease(t *testing.T) {
	ctx := context.Background()
	a, b := twoMembers(t, Options{LeaseBlock: 8})
	rec := &recordingStorage{MemStorage: a.st}
	g, err := LoadGroup(ctx, rec, a.g.GroupID(), Options{LeaseBlock: 8})
	if err != nil {
		t.Fatal(err)
	}
	a.g = g
	for i := 0; i < 20; i++ {
		sendAndCheck(t, a, "m", b)
	}
	// The epoch started with nothing leased; generations 0, 8 and 16 take
	// leases.
	if got, want := len(rec.batches), 3; got != want {
		t.Fatalf("%d writes for 20 messages, want %d", got, want)
	}
	gen := func() uint64 {
		n, err := a.g.s.secrets.Generation(uint32(a.g.s.me()), 1)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Receiving writes the sender's ratchet record (and the tree header the
	// first time a sender's ratchets are derived), nothing else.
	brec := &recordingStorage{MemStorage: b.st}
	if b.g, err = LoadGroup(ctx, brec, b.g.GroupID(), Options{}); err != nil {
		t.Fatal(err)
	}
	sendAndCheck(t, a, "one", b)
	sendAndCheck(t, a, "two", b)
	last := brec.batches[len(brec.batches)-1]
	if len(last.Puts) != 1 || !strings.HasPrefix(last.Puts[0].Key.Name, ratchetPrefix) || len(last.Deletes) != 0 {
		t.Fatalf("receiving wrote %+v, want one ratchet record", last.Puts)
	}
	reload(t, a)
	if got := gen(); got < 24 {
		t.Fatalf("after reload next generation %d, want >= 24 (past the lease)", got)
	}
	sendAndCheck(t, a, "after reload", b)
}

// TestPendingCommitSurvivesReload creates a commit, reloads, and merges it.
func TestPendingCommitSurvivesReload(t *testing.T) {
	ctx := context.Background()
	a, b := twoMembers(t, Options{})
	before := a.st.Dump()
	out, err := a.g.Commit(ctx, CommitOptions{SelfUpdate: true})
	if err != nil {
		t.Fatal(err)
	}
	// Creating the commit only stored it as pending.
	after := a.st.Dump()
	for k, v := range before {
		if !bytes.Equal(after[k], v) {
			t.Fatalf("component %s changed by creating a commit", k)
		}
	}
	if _, err := a.g.Commit(ctx, CommitOptions{}); !errors.Is(err, ErrPendingCommit) {
		t.Fatalf("second commit: got %v, want ErrPendingCommit", err)
	}
	reload(t, a)
	if !a.g.HasPendingCommit() {
		t.Fatal("pending commit lost on reload")
	}
	if _, err := a.g.MergePendingCommit(ctx); err != nil {
		t.Fatal(err)
	}
	deliver(t, out.Commit, b)
	agree(t, a, b)
	// A commit that is cleared leaves the group as it was.
	before = a.st.Dump()
	if _, err := a.g.Commit(ctx, CommitOptions{SelfUpdate: true}); err != nil {
		t.Fatal(err)
	}
	if err := a.g.ClearPendingCommit(ctx); err != nil {
		t.Fatal(err)
	}
	if after := a.st.Dump(); !sameDump(before, after) {
		t.Fatal("clear pending commit did not restore the stored state")
	}
	// An incoming commit discards our pending one.
	if _, err := a.g.Commit(ctx, CommitOptions{SelfUpdate: true}); err != nil {
		t.Fatal(err)
	}
	out, err = b.g.Commit(ctx, CommitOptions{SelfUpdate: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.MergePendingCommit(ctx); err != nil {
		t.Fatal(err)
	}
	deliver(t, out.Commit, a)
	if a.g.HasPendingCommit() {
		t.Fatal("pending commit kept after processing another commit")
	}
	agree(t, a, b)
	// Our own commit coming back from the delivery service merges it.
	out, err = a.g.Commit(ctx, CommitOptions{SelfUpdate: true})
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, out.Commit, a, b)
	if a.g.HasPendingCommit() || a.g.Epoch() != out.Epoch {
		t.Fatalf("own commit echo: pending %v, epoch %d, want merged into %d", a.g.HasPendingCommit(), a.g.Epoch(), out.Epoch)
	}
	agree(t, a, b)
}

func sameDump(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(b[k], v) {
			return false
		}
	}
	return true
}

// TestKeyPackageSingleUse checks that joining deletes the KeyPackage's
// private keys unless it is a last-resort package.
func TestKeyPackageSingleUse(t *testing.T) {
	ctx := context.Background()
	for _, lastResort := range []bool{false, true} {
		a, b := newMember("alice"), newMember("bob")
		var err error
		if a.g, err = a.client.CreateGroup(ctx, suite1, nil); err != nil {
			t.Fatal(err)
		}
		kp, err := b.client.CreateKeyPackage(ctx, suite1, lastResort)
		if err != nil {
			t.Fatal(err)
		}
		out := commitAndDeliver(t, a, CommitOptions{Add: [][]byte{kp}})
		if b.g, err = b.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
			t.Fatal(err)
		}
		names, _ := b.st.List(ctx, nil, KindKeys)
		kept := 0
		for _, n := range names {
			if strings.HasPrefix(n, "kp_") {
				kept++
			}
		}
		if want := map[bool]int{false: 0, true: 1}[lastResort]; kept != want {
			t.Errorf("last resort %v: %d key packages kept, want %d", lastResort, kept, want)
		}
	}
}

// TestCommitWritesLittle checks that a self-update commit in a 1000-member
// group — creating it and merging it — hands the storage at most 10% of the
// group's full GroupSnapshot and of its whole stored state (localstore's
// BenchmarkEngineCommit measures the bytes that reach the disk).
func TestCommitWritesLittle(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 1000-member group")
	}
	ctx := context.Background()
	a := newMember("alice")
	rec := &recordingStorage{MemStorage: a.st}
	a.client = NewClient(rec, []byte("alice"), Options{})
	var err error
	if a.g, err = a.client.CreateGroup(ctx, suite1, nil); err != nil {
		t.Fatal(err)
	}
	var kps [][]byte
	for i := 0; i < 999; i++ {
		kps = append(kps, newMember("m").keyPackage(t, suite1))
	}
	if _, err := a.g.Commit(ctx, CommitOptions{Add: kps}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.g.MergePendingCommit(ctx); err != nil {
		t.Fatal(err)
	}
	n := len(rec.batches)
	if _, err := a.g.Commit(ctx, CommitOptions{SelfUpdate: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.g.MergePendingCommit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(rec.batches) - n; got != 2 {
		t.Fatalf("commit and merge wrote %d batches, want 2", got)
	}
	written := 0
	for _, b := range rec.batches[n:] {
		written += batchBytes(b)
	}
	snap, _, err := ExportSnapshot(ctx, a.st, a.g.GroupID())
	if err != nil {
		t.Fatal(err)
	}
	total := dumpBytes(a.st.Dump())
	t.Logf("self-update commit (create + merge) in a 1000-member group wrote %d bytes: %.1f%% of the %d-byte GroupSnapshot, %.1f%% of the %d stored bytes",
		written, 100*float64(written)/float64(len(snap)), len(snap), 100*float64(written)/float64(total), total)
	if written*10 > len(snap) {
		t.Errorf("commit wrote %d bytes, more than 10%% of the %d-byte snapshot", written, len(snap))
	}
	if written*10 > total {
		t.Errorf("commit wrote %d bytes, more than 10%% of %d stored", written, total)
	}
}
