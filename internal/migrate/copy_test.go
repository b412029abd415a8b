package migrate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/uploader"
)

// copyWorld is a source backup set written by agent alice and a target
// store with its own signing key.
type copyWorld struct {
	alice, target keys
	src           *uploader.Backup
	srcStore      uploader.ObjectStore
	dstStore      uploader.ObjectStore
	dstPrefix     string
}

func newCopyWorld(t *testing.T, src, dst uploader.ObjectStore, dstPrefix string) *copyWorld {
	w := &copyWorld{alice: newKeys(t), target: newKeys(t), srcStore: src, dstStore: dst, dstPrefix: dstPrefix}
	w.src = open(t, src, "prod/alice", "alice", w.alice.key, w.alice.rcp, w.alice.ids)
	fill(t, w.src, 3, 3)
	return w
}

// reader opens the source as copy does: trusting alice's signer.
func (w *copyWorld) reader(t *testing.T) *uploader.Backup {
	return open(t, w.srcStore, "prod/alice", "", nil, nil, w.alice.ids, w.alice.key.Public())
}

// dst opens the target as copy does (st: its store, possibly faulty).
func (w *copyWorld) dst(t *testing.T, st uploader.ObjectStore) *uploader.Backup {
	return open(t, st, w.dstPrefix, LeaseID("alice", "copy"), w.target.key, nil, w.alice.ids)
}

// checkTarget verifies the target as verify --all would, trusting only
// the target's signer, and that it holds every snapshot of the source.
func (w *copyWorld) checkTarget(t *testing.T) {
	t.Helper()
	got := verifyAll(t, open(t, w.dstStore, w.dstPrefix, "", nil, nil, w.alice.ids, w.target.key.Public()))
	if want := plaintexts(t, w.reader(t)); !sameKeys(got, want) {
		t.Errorf("target holds %d snapshots, the source %d", len(got), len(want))
	}
}

func TestCopyDirToMinIO(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MinIO")
	}
	testCopy(t, newCopyWorld(t, dirStore(t), minioStore(t), "new/alice"))
}

func TestCopyMinIOToAnotherPrefix(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MinIO")
	}
	st := minioStore(t)
	testCopy(t, newCopyWorld(t, st, st, "moved/alice"))
}

func TestCopyDirToDir(t *testing.T) {
	testCopy(t, newCopyWorld(t, dirStore(t), dirStore(t), "prod/alice"))
}

func testCopy(t *testing.T, w *copyWorld) {
	ctx := context.Background()
	before := dump(t, w.srcStore, "prod/alice/")
	rep, err := Copy(ctx, w.reader(t), w.dst(t, w.dstStore), CopyOptions{Decrypt: true})
	if err != nil || rep.Err() != nil {
		t.Fatalf("copy: %v; report: %v", err, rep.Err())
	}
	if len(rep.Copied) != 9 || rep.Head == nil {
		t.Errorf("copied %d snapshots (want 9), head %v", len(rep.Copied), rep.Head)
	}
	w.checkTarget(t)
	// A rerun copies nothing and finds everything.
	rep, err = Copy(ctx, w.reader(t), w.dst(t, w.dstStore), CopyOptions{})
	if err != nil || rep.Err() != nil || len(rep.Copied) != 0 || len(rep.Present) != 9 {
		t.Fatalf("rerun: %v, %v: copied %d, present %d", err, rep.Err(), len(rep.Copied), len(rep.Present))
	}
	if after := dump(t, w.srcStore, "prod/alice/"); !maps.Equal(before, after) {
		t.Error("the copy changed the source")
	}
	// The lease is released: the agent can take the target prefix.
	agent := open(t, w.dstStore, w.dstPrefix, "alice", w.target.key, w.alice.rcp, nil)
	if _, err := agent.AcquireLease(ctx); err != nil {
		t.Errorf("the agent cannot take the target after the copy: %v", err)
	}
}

// TestCopyCrashAtEveryWrite kills the copy at each of its writes and
// deletes, before or right after the operation took effect, and reruns
// it: the target ends complete and verified, the source untouched.
func TestCopyCrashAtEveryWrite(t *testing.T) {
	src := dirStore(t)
	w := newCopyWorld(t, src, nil, "p")
	before := dump(t, src, "")
	counter := &crashStore{ObjectStore: dirStore(t)}
	if _, err := Copy(context.Background(), w.reader(t), w.dst(t, counter), CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= counter.writes; n++ {
		for _, after := range []bool{false, true} {
			t.Run(fmt.Sprintf("write%d/after=%v", n, after), func(t *testing.T) {
				w.dstStore = dirStore(t)
				crash := &crashStore{ObjectStore: w.dstStore, n: n, after: after}
				_, err := Copy(context.Background(), w.reader(t), w.dst(t, crash), CopyOptions{})
				if err != nil && !errors.Is(err, errCrash) && !strings.Contains(err.Error(), errCrash.Error()) {
					t.Fatalf("crashed copy: %v", err)
				}
				rep, err := Copy(context.Background(), w.reader(t), w.dst(t, w.dstStore), CopyOptions{})
				if err != nil || rep.Err() != nil {
					t.Fatalf("rerun: %v; report: %v", err, rep.Err())
				}
				w.checkTarget(t)
			})
		}
	}
	if after := dump(t, src, ""); !maps.Equal(before, after) {
		t.Error("the copies changed the source")
	}
}

// TestCopyRefusesBrokenSourceChain: a group whose source chain lost a
// manifest is not copied (the copy would hide the gap); the others are.
func TestCopyRefusesBrokenSourceChain(t *testing.T) {
	ctx := context.Background()
	w := newCopyWorld(t, dirStore(t), dirStore(t), "p")
	refs, err := w.src.ListRefs(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.srcStore.Delete(ctx, refs[1].Key); err != nil { // the first group's middle manifest
		t.Fatal(err)
	}
	rep, err := Copy(ctx, w.reader(t), w.dst(t, w.dstStore), CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Err() == nil || !errors.Is(rep.Err(), uploader.ErrBrokenChain) || len(rep.Copied) != 6 {
		t.Fatalf("copied %d (want 6, the intact groups), report %v", len(rep.Copied), rep.Err())
	}
}

// TestCopyRespectsLease: a target prefix held by a running agent is not
// written unless taken over.
func TestCopyRespectsLease(t *testing.T) {
	ctx := context.Background()
	w := newCopyWorld(t, dirStore(t), dirStore(t), "p")
	agent := open(t, w.dstStore, "p", "alice", w.target.key, w.alice.rcp, nil)
	if _, err := agent.AcquireLease(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := Copy(ctx, w.reader(t), w.dst(t, w.dstStore), CopyOptions{})
	var le *uploader.LeaseError
	if !errors.As(err, &le) || le.Holder.AgentID != "alice" {
		t.Fatalf("copy to a leased prefix: %v, want a LeaseError naming alice", err)
	}
	if objs := dump(t, w.dstStore, ""); len(objs) != 1 {
		t.Errorf("the refused copy wrote %d objects besides the lease", len(objs)-1)
	}
	dst, err := uploader.New(w.dstStore, uploader.Options{Prefix: "p", AgentID: LeaseID("alice", "copy"), SigningKey: w.target.key, TakeOver: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := Copy(ctx, w.reader(t), dst, CopyOptions{}); err != nil || rep.Err() != nil {
		t.Fatalf("copy --take-over: %v, %v", err, rep.Err())
	}
	w.checkTarget(t)
}

// TestCopyBehindNewerTarget: snapshots older than the target's newest of
// their group are not written behind it (its head would contradict what
// restore selects); the target still verifies.
func TestCopyBehindNewerTarget(t *testing.T) {
	ctx := context.Background()
	w := newCopyWorld(t, dirStore(t), dirStore(t), "p")
	agent := open(t, w.dstStore, "p", "alice", w.target.key, w.alice.rcp, nil)
	fill(t, agent, 1, 4) // group "ga" at epochs 1-4: newer than the source's 1-3
	if err := agent.ReleaseLease(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := Copy(ctx, w.reader(t), w.dst(t, w.dstStore), CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Behind) != 3 || len(rep.Copied) != 6 || rep.Err() == nil {
		t.Errorf("behind %d (want 3), copied %d (want 6), err %v", len(rep.Behind), len(rep.Copied), rep.Err())
	}
	verifyAll(t, open(t, w.dstStore, "p", "", nil, nil, w.alice.ids, w.target.key.Public()))
}
