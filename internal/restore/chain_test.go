package restore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// chainFixture is one group's three snapshots (epochs 1 to 3) and a head
// written after them.
type chainFixture struct {
	b   *bucket
	p   *pair
	ms  []uploader.Manifest
	gid []byte
}

func newChainFixture(t *testing.T) *chainFixture {
	t.Helper()
	f := &chainFixture{b: newBucket(t), p: newPair(t, "chain"), gid: []byte("chain")}
	for range 3 {
		f.p.advance(t)
		f.ms = append(f.ms, f.b.snapshot(t, f.p.bob, nil))
	}
	if _, err := f.b.backup.WriteHead(context.Background()); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *chainFixture) remove(t *testing.T, key string) {
	t.Helper()
	if err := os.Remove(filepath.Join(f.b.dir, filepath.FromSlash(key))); err != nil {
		t.Fatal(err)
	}
}

// restore restores the group's newest snapshot into an empty store.
func (f *chainFixture) restore(t *testing.T, force bool) (Result, error) {
	t.Helper()
	res, err := Run(context.Background(), f.b.backup, StoreTarget{Storage: engine.NewMemStorage()}, Request{Group: f.gid}, Options{Force: force})
	if len(res) != 1 {
		t.Fatalf("%d results, want 1 (%v)", len(res), err)
	}
	return res[0], err
}

// TestRestoreRefusesBrokenChainUnlessForced: a deleted middle snapshot
// breaks the chain and a deleted newest one leaves the chain short of the
// head; restore refuses both, naming the object and the check, and
// restores what is there with --force, reporting the problem.
func TestRestoreRefusesBrokenChainUnlessForced(t *testing.T) {
	for _, tt := range []struct {
		name    string
		deleted int // index into ms
		named   int // the object the error names
		want    error
		forced  int // the snapshot restored with --force
	}{
		{"middle deleted", 1, 2, uploader.ErrBrokenChain, 2},
		{"newest deleted", 2, 1, uploader.ErrHead, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newChainFixture(t)
			f.remove(t, f.ms[tt.deleted].Key)
			r, err := f.restore(t, false)
			if !errors.Is(err, ErrIntegrity) || !errors.Is(err, tt.want) || r.Status != StatusFailed ||
				!strings.Contains(err.Error(), f.ms[tt.named].Key) || Hint(err) == "" {
				t.Fatalf("restore: %v (%s), want %v naming %s with a hint", err, r.Status, tt.want, f.ms[tt.named].Key)
			}
			r, err = f.restore(t, true)
			if err != nil || r.Status != StatusRestored || r.Snapshot.Key != f.ms[tt.forced].Key || len(r.Problems) == 0 ||
				!errors.Is(r.Problems[0], tt.want) {
				t.Fatalf("restore --force: %+v, %v; want %s restored with the problem reported", r, err, f.ms[tt.forced].Key)
			}
		})
	}
}

// TestRestoreReportsHead: every result carries the newest head, which
// dates the backups; an intact chain restores without problems.
func TestRestoreReportsHead(t *testing.T) {
	f := newChainFixture(t)
	r, err := f.restore(t, false)
	if err != nil || r.Status != StatusRestored || r.Head == nil || r.Head.Groups["636861696e"].Sequence != f.ms[2].Sequence || len(r.Problems) != 0 {
		t.Fatalf("restore: %+v, %v", r, err)
	}
	res, err := Run(context.Background(), f.b.backup, StoreTarget{Storage: engine.NewMemStorage()}, Request{All: true}, Options{})
	if err != nil || len(res) != 1 || res[0].Head == nil {
		t.Fatalf("restore --all: %+v, %v", res, err)
	}
}

// TestRestoreAllReportsGroupTheHeadNames: a group whose every snapshot
// was deleted is named by the head; restore --all fails it (and restores
// the others), verify reports it.
func TestRestoreAllReportsGroupTheHeadNames(t *testing.T) {
	ctx := context.Background()
	f := newChainFixture(t)
	other := newPair(t, "other")
	other.advance(t)
	f.b.snapshot(t, other.bob, nil)
	if _, err := f.b.backup.WriteHead(ctx); err != nil {
		t.Fatal(err)
	}
	for _, m := range f.ms {
		f.remove(t, m.Key)
		f.remove(t, m.DataKey)
	}
	for _, src := range []Source{f.b.backup, sourceOnly{f.b.backup}} {
		res, err := Run(ctx, src, StoreTarget{Storage: engine.NewMemStorage()}, Request{All: true}, Options{})
		if !errors.Is(err, uploader.ErrHead) || len(res) != 2 {
			t.Fatalf("%T: restore --all: %d results, %v; want the chain group failed by the head", src, len(res), err)
		}
		for _, r := range res {
			if want := string(r.Group) == "other"; (r.Status == StatusRestored) != want {
				t.Errorf("%T: group %s: %s", src, r.Group, r.Status)
			}
		}
	}
	rep, err := Verify(ctx, f.b.backup, VerifyRequest{})
	if err != nil || rep.Failed() != 1 {
		t.Fatalf("verify: %+v, %v; want one failure", rep, err)
	}
}

// TestVerifyReportsEachCheck: verify passes every check of an intact
// backup set and names the failed check of each damaged object, among
// them the snapshot check that needs the plaintext (a trusted signer's
// manifest whose epoch authenticator differs from the snapshot's).
func TestVerifyReportsEachCheck(t *testing.T) {
	ctx := context.Background()
	f := newChainFixture(t)
	rep, err := Verify(ctx, f.b.backup, VerifyRequest{All: true})
	if err != nil || rep.Failed() != 0 || len(rep.Objects) != 3 || rep.Head == nil {
		t.Fatalf("intact: %+v, %v", rep, err)
	}
	if got := rep.Objects[0].Passed; len(got) != len(manifestChecks) {
		t.Errorf("passed %v, want every check %v", got, manifestChecks)
	}
	f.p.advance(t)
	bad := f.b.snapshot(t, f.p.bob, func(m *uploader.SnapshotMeta) { m.EpochAuthenticator = make([]byte, 32) })
	f.remove(t, f.ms[0].DataKey)
	rep, err = Verify(ctx, f.b.backup, VerifyRequest{All: true})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uploader.Check{bad.Key: uploader.CheckSnapshot, f.ms[0].Key: uploader.CheckDownload}
	for _, o := range rep.Objects {
		if o.Failed != want[o.Key] {
			t.Errorf("%s: failed %q (%v), want %q", o.Key, o.Failed, o.Err, want[o.Key])
		}
	}
	one := VerifyObject(ctx, f.b.backup, bad.Key)
	if one.Failed != uploader.CheckSnapshot || !errors.Is(one.Err, ErrMismatch) {
		t.Errorf("VerifyObject: %+v", one)
	}
	if one := VerifyObject(ctx, f.b.backup, rep.Head.Key); !one.OK() {
		t.Errorf("VerifyObject of the head: %+v", one)
	}
}

// TestRestoreAllForceSkipsForgedNewest: a snapshot planted under a newer
// key than a group's newest fails restore --all, naming it; with --force
// restore --all takes the newest snapshot that verifies and reports the
// planted one, listing by key or reading every manifest alike.
func TestRestoreAllForceSkipsForgedNewest(t *testing.T) {
	ctx := context.Background()
	f := newChainFixture(t)
	newest := f.ms[2]
	dir := filepath.Join(f.b.dir, filepath.FromSlash(newest.Key))
	planted := strings.Replace(dir, newest.ID, "29991231T235959.000000000Z-0123456789abcdef", 1)
	if err := os.MkdirAll(filepath.Dir(planted), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(planted, []byte(`{"format":"mlsbackup-signed","version":3}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, src := range []Source{f.b.backup, sourceOnly{f.b.backup}} {
		res, err := Run(ctx, src, StoreTarget{Storage: engine.NewMemStorage()}, Request{All: true}, Options{})
		if err == nil || len(res) != 1 || res[0].Status != StatusFailed || !strings.Contains(err.Error(), "29991231T235959") {
			t.Fatalf("%T: restore --all: %+v, %v; want the planted object named", src, res, err)
		}
		res, err = Run(ctx, src, StoreTarget{Storage: engine.NewMemStorage()}, Request{All: true}, Options{Force: true})
		if err != nil || len(res) != 1 || res[0].Status != StatusRestored || res[0].Snapshot.Key != newest.Key ||
			len(res[0].Problems) == 0 || uploader.FailedCheck(res[0].Problems[0]) != uploader.CheckEnvelope {
			t.Fatalf("%T: restore --all --force: %+v, %v; want %s restored, the planted object reported", src, res, err, newest.Key)
		}
	}
}
