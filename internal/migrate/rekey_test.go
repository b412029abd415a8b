package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"

	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/dirstore"
)

// rekeyWorld is a prefix written by agent alice to the old recipient,
// then (the rotation's first step) to the new one.
type rekeyWorld struct {
	old, new keys // new.key is unused: alice keeps her signing key
	st       uploader.ObjectStore
}

func newRekeyWorld(t *testing.T, st uploader.ObjectStore) *rekeyWorld {
	w := &rekeyWorld{old: newKeys(t), new: newKeys(t), st: st}
	w.upload(t, w.old.rcp, 3, 3)
	// The agent, given the new recipient, uploads newer snapshots of
	// group "ga" (epochs 1-4, created after the old ones).
	w.upload(t, w.new.rcp, 1, 4)
	return w
}

// upload has agent alice upload groups×epochs snapshots to rcp, then stop.
func (w *rekeyWorld) upload(t *testing.T, rcp []age.Recipient, groups, epochs int) {
	b := w.agent(t, rcp)
	fill(t, b, groups, epochs)
	if err := b.ReleaseLease(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (w *rekeyWorld) agent(t *testing.T, rcp []age.Recipient) *uploader.Backup {
	return open(t, w.st, "prod/alice", "alice", w.old.key, rcp, nil)
}

// rekeyer opens the prefix as rekey does (st: its store, possibly faulty).
func (w *rekeyWorld) rekeyer(t *testing.T, st uploader.ObjectStore) *uploader.Backup {
	return open(t, st, "prod/alice", LeaseID("alice", "rekey"), w.old.key, w.new.rcp, w.old.ids)
}

// reader opens the prefix as verify does, with identities ids.
func (w *rekeyWorld) reader(t *testing.T, ids ...age.Identity) *uploader.Backup {
	return open(t, w.st, "prod/alice", "", nil, nil, ids, w.old.key.Public())
}

// checkDone checks that every snapshot is encrypted to the new recipient
// only and verifies, and that the plaintexts are want.
func (w *rekeyWorld) checkDone(t *testing.T, want map[[32]byte]bool) {
	t.Helper()
	if got := verifyAll(t, w.reader(t, w.new.ids...)); !sameKeys(got, want) {
		t.Errorf("after rekey: %d snapshots, want %d", len(got), len(want))
	}
	ms, err := w.reader(t).List(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	old := w.reader(t, w.old.ids...)
	for _, m := range ms {
		if err := old.Verify(context.Background(), m); !errors.Is(err, uploader.ErrNoIdentity) {
			t.Errorf("%s: the old identity still decrypts it (%v)", m.Key, err)
		}
	}
}

func TestRekeyDir(t *testing.T) { testRekey(t, dirStore(t)) }

func TestRekeyMinIO(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MinIO")
	}
	testRekey(t, minioStore(t))
}

func testRekey(t *testing.T, st uploader.ObjectStore) {
	ctx := context.Background()
	w := newRekeyWorld(t, st)
	want := plaintexts(t, w.reader(t))
	rep, err := Rekey(ctx, w.rekeyer(t, st), RekeyOptions{})
	if err != nil || rep.Err() != nil {
		t.Fatalf("rekey: %v; report: %v", err, rep.Err())
	}
	if len(rep.Rekeyed) != 9 || len(rep.Retired) != 9 || len(rep.Unreadable) != 4 {
		t.Errorf("rekeyed %d, retired %d, unreadable %d; want 9, 9, 4", len(rep.Rekeyed), len(rep.Retired), len(rep.Unreadable))
	}
	w.checkDone(t, want)
	// A rerun finds nothing to do, and writes nothing but its lease: no
	// head, and no upload started for the snapshots the old identity
	// cannot read; the agent can write again.
	rec := &putRecorder{ObjectStore: st}
	rep, err = Rekey(ctx, w.rekeyer(t, rec), RekeyOptions{})
	if err != nil || rep.Err() != nil || len(rep.Rekeyed)+len(rep.Retired) != 0 {
		t.Fatalf("rerun: %v, %v: rekeyed %d, retired %d", err, rep.Err(), len(rep.Rekeyed), len(rep.Retired))
	}
	for _, k := range rec.keys {
		if !strings.HasSuffix(k, "agent-lease.json") {
			t.Errorf("a rerun with nothing to do wrote %s", k)
		}
	}
	if rep.Head != nil {
		t.Errorf("a rerun with nothing to do wrote head %d", rep.Head.Sequence)
	}
	w.upload(t, w.new.rcp, 2, 1)
	verifyAll(t, w.reader(t, w.new.ids...))
}

// TestRekeyCrashAtEveryWrite kills the rekey at each of its writes and
// deletes, before or right after the operation took effect: no snapshot
// is lost (each is there, encrypted to the old or the new recipient, and
// verify --all with both identities accepts the prefix), and a rerun
// converges.
func TestRekeyCrashAtEveryWrite(t *testing.T) {
	template := filepath.Join(t.TempDir(), "template")
	tst, err := dirstore.New(template)
	if err != nil {
		t.Fatal(err)
	}
	w := newRekeyWorld(t, tst)
	want := plaintexts(t, w.reader(t))
	clone := func(t *testing.T) uploader.ObjectStore {
		dir := filepath.Join(t.TempDir(), "bucket")
		if err := os.CopyFS(dir, os.DirFS(template)); err != nil {
			t.Fatal(err)
		}
		st, err := dirstore.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	counter := &crashStore{ObjectStore: clone(t)}
	w.st = counter.ObjectStore
	if _, err := Rekey(context.Background(), w.rekeyer(t, counter), RekeyOptions{}); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= counter.writes; n++ {
		for _, after := range []bool{false, true} {
			t.Run(fmt.Sprintf("write%d/after=%v", n, after), func(t *testing.T) {
				w.st = clone(t)
				crash := &crashStore{ObjectStore: w.st, n: n, after: after}
				if _, err := Rekey(context.Background(), w.rekeyer(t, crash), RekeyOptions{}); err == nil && !crash.dead {
					t.Fatalf("the rekey finished before its write %d of %d", n, counter.writes)
				}
				both := append(append([]age.Identity{}, w.old.ids...), w.new.ids...)
				if got := verifyAll(t, w.reader(t, both...)); !sameKeys(got, want) {
					t.Fatalf("after the crash: %d snapshots, want %d", len(got), len(want))
				}
				rep, err := Rekey(context.Background(), w.rekeyer(t, w.st), RekeyOptions{})
				if err != nil || rep.Err() != nil {
					t.Fatalf("rerun: %v; report: %v", err, rep.Err())
				}
				w.checkDone(t, want)
			})
		}
	}
}

func TestCheckRecipientsRefusesOldIdentity(t *testing.T) {
	old, other := newKeys(t), newKeys(t)
	if err := CheckRecipients(append(other.rcp, old.rcp...), old.ids); !errors.Is(err, ErrSameRecipients) {
		t.Errorf("new recipients that include the old one: %v, want ErrSameRecipients", err)
	}
	if err := CheckRecipients(other.rcp, old.ids); err != nil {
		t.Errorf("other recipients: %v", err)
	}
}

// TestRekeyRespectsLease: a prefix held by a running agent is not
// rekeyed unless taken over.
func TestRekeyRespectsLease(t *testing.T) {
	ctx := context.Background()
	w := newRekeyWorld(t, dirStore(t))
	if _, err := w.agent(t, w.new.rcp).AcquireLease(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := Rekey(ctx, w.rekeyer(t, w.st), RekeyOptions{})
	var le *uploader.LeaseError
	if !errors.As(err, &le) || le.Holder.AgentID != "alice" {
		t.Fatalf("rekey of a leased prefix: %v, want a LeaseError naming alice", err)
	}
	verifyAll(t, w.reader(t, w.old.ids[0], w.new.ids[0]))
}

// putRecorder records the keys of every Put tried on its store.
type putRecorder struct {
	uploader.ObjectStore
	mu   sync.Mutex
	keys []string
}

func (p *putRecorder) Put(ctx context.Context, key string, r io.Reader, size int64, ifNoneMatch bool) error {
	p.mu.Lock()
	p.keys = append(p.keys, key)
	p.mu.Unlock()
	return p.ObjectStore.Put(ctx, key, r, size, ifNoneMatch)
}
