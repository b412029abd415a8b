package restore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// TestRestoreCatchUp wipes bob, restores him from the bucket into a fresh
// data directory, and checks that he catches up on the commits he missed,
// decrypts alice's next message, may not send until his own self-update
// commit, and then sends from that epoch.
func TestRestoreCatchUp(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, "catch-up")
	b := newBucket(t)
	p.advance(t)
	man := b.snapshot(t, p.bob, nil)
	missed := [][]byte{p.advance(t), p.advance(t)}

	st := openStore(t, filepath.Join(t.TempDir(), "bob"))
	res, err := Run(ctx, b.backup, StoreTarget{Storage: st}, Request{Group: []byte("catch-up")}, Options{})
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if len(res) != 1 || res[0].Status != StatusRestored || !res[0].AuthenticatorChecked || res[0].Snapshot.Key != man.Key {
		t.Fatalf("result = %+v, want one restored group from %s with its authenticator checked", res, man.Key)
	}
	bob, err := engine.LoadGroup(ctx, st, []byte("catch-up"), engine.Options{})
	if err != nil {
		t.Fatalf("load restored group: %v", err)
	}
	if got, want := bob.Epoch(), man.Epoch; got != want {
		t.Fatalf("restored epoch = %d, want %d", got, want)
	}
	if _, err := bob.Encrypt(ctx, []byte("too early"), nil); !errors.Is(err, engine.ErrRestoredEpoch) {
		t.Fatalf("encrypt in the restored epoch: %v, want ErrRestoredEpoch", err)
	}
	for i, c := range missed {
		if _, err := bob.Process(ctx, c); err != nil {
			t.Fatalf("process missed commit %d: %v", i, err)
		}
	}
	if got, want := bob.Epoch(), p.alice.g.Epoch(); got != want {
		t.Fatalf("epoch after catching up = %d, want alice's %d", got, want)
	}
	if !bytes.Equal(bob.EpochAuthenticator(), p.alice.g.EpochAuthenticator()) {
		t.Fatal("bob's epoch authenticator differs from alice's after catching up")
	}
	msg, err := p.alice.g.Encrypt(ctx, []byte("welcome back"), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := bob.Process(ctx, msg)
	if err != nil || string(r.ApplicationData) != "welcome back" {
		t.Fatalf("bob decrypts alice's message: %q, %v", r.ApplicationData, err)
	}
	if _, err := bob.Encrypt(ctx, []byte("too early"), nil); !errors.Is(err, engine.ErrRestoredEpoch) {
		t.Fatalf("encrypt after catching up: %v, want ErrRestoredEpoch", err)
	}
	out, err := bob.Commit(ctx, engine.CommitOptions{SelfUpdate: true})
	if err != nil {
		t.Fatalf("bob commits a self-update: %v", err)
	}
	if _, err := bob.MergePendingCommit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.alice.g.Process(ctx, out.Commit); err != nil {
		t.Fatalf("alice processes bob's self-update: %v", err)
	}
	reply, err := bob.Encrypt(ctx, []byte("thanks"), nil)
	if err != nil {
		t.Fatalf("bob sends after his own commit: %v", err)
	}
	r, err = p.alice.g.Process(ctx, reply)
	if err != nil || string(r.ApplicationData) != "thanks" || r.Epoch != man.Epoch+3 {
		t.Fatalf("alice decrypts bob's reply: %q at epoch %d, %v; want \"thanks\" at %d", r.ApplicationData, r.Epoch, err, man.Epoch+3)
	}
}

// TestSelect restores chosen snapshots by epoch and by time.
func TestSelect(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, "select")
	b := newBucket(t)
	var mans []uploader.Manifest
	for range 3 {
		mans = append(mans, b.snapshot(t, p.bob, nil))
		p.advance(t)
	}
	tests := []struct {
		name string
		sel  Selector
		want uploader.Manifest
	}{
		{"latest", Selector{}, mans[2]},
		{"epoch", Selector{Epoch: mans[1].Epoch, HasEpoch: true}, mans[1]},
		{"before", Selector{Before: mans[0].Created.Add(time.Nanosecond)}, mans[0]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t, filepath.Join(t.TempDir(), "d"))
			res, err := Run(ctx, b.backup, StoreTarget{Storage: st}, Request{Group: []byte("select"), Select: tc.sel}, Options{})
			if err != nil {
				t.Fatalf("restore: %v", err)
			}
			if got := res[0].Snapshot.Key; got != tc.want.Key {
				t.Fatalf("restored %s, want %s", got, tc.want.Key)
			}
			g, err := engine.LoadGroup(ctx, st, []byte("select"), engine.Options{})
			if err != nil || g.Epoch() != tc.want.Epoch {
				t.Fatalf("local group after restore: %v, want epoch %d", err, tc.want.Epoch)
			}
		})
	}
	if _, err := Run(ctx, b.backup, StoreTarget{Storage: engine.NewMemStorage()},
		Request{Group: []byte("select"), Select: Selector{HasEpoch: true, Before: time.Now()}}, Options{}); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("epoch and before together: %v, want ErrBadRequest", err)
	}
	if _, err := Run(ctx, b.backup, StoreTarget{Storage: engine.NewMemStorage()}, Request{}, Options{}); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("no group: %v, want ErrBadRequest", err)
	}
}

// TestLocalState checks the rollback guard, the same-epoch case, dry runs and
// force against a group already stored locally, restoring that group or
// every group (which lists the local groups first).
func TestLocalState(t *testing.T) {
	ctx := context.Background()
	gid := []byte("local")
	tests := []struct {
		name       string
		localAhead bool // local group advanced past the snapshot
		opts       Options
		wantStatus Status
		wantErr    error
		wantEpoch  func(snap, local uint64) uint64
	}{
		{"rollback refused", true, Options{}, StatusFailed, ErrRollback, func(_, l uint64) uint64 { return l }},
		{"rollback forced", true, Options{Force: true}, StatusRestored, nil, func(s, _ uint64) uint64 { return s }},
		{"rollback dry run", true, Options{Force: true, DryRun: true}, StatusWouldRestore, nil, func(_, l uint64) uint64 { return l }},
		{"same epoch", false, Options{}, StatusUpToDate, nil, func(_, l uint64) uint64 { return l }},
		{"same epoch forced", false, Options{Force: true}, StatusRestored, nil, func(s, _ uint64) uint64 { return s }},
	}
	for _, tc := range tests {
		for _, all := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/all=%v", tc.name, all), func(t *testing.T) {
				p := newPair(t, string(gid))
				b := newBucket(t)
				man := b.snapshot(t, p.bob, nil)
				if tc.localAhead {
					p.advance(t)
				}
				before := p.bob.st.Dump()
				localEpoch := p.bob.g.Epoch()
				res, runErr := Run(ctx, b.backup, StoreTarget{Storage: p.bob.st}, Request{Group: gid, All: all}, tc.opts)
				if !errors.Is(runErr, tc.wantErr) || (tc.wantErr == nil && runErr != nil) {
					t.Fatalf("err = %v, want %v", runErr, tc.wantErr)
				}
				if got := res[0].Status; got != tc.wantStatus {
					t.Fatalf("status = %s, want %s", got, tc.wantStatus)
				}
				if !res[0].HadLocal || res[0].LocalEpoch != localEpoch {
					t.Fatalf("local = %v/%d, want true/%d", res[0].HadLocal, res[0].LocalEpoch, localEpoch)
				}
				g, err := engine.LoadGroup(ctx, p.bob.st, gid, engine.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if got, want := g.Epoch(), tc.wantEpoch(man.Epoch, localEpoch); got != want {
					t.Fatalf("local epoch after = %d, want %d", got, want)
				}
				if tc.wantStatus != StatusRestored && !sameDump(before, p.bob.st.Dump()) {
					t.Fatal("local state changed although nothing was restored")
				}
				if tc.wantErr != nil && !strings.Contains(runErr.Error(), "--force") {
					t.Fatalf("error %q does not tell the operator about --force", runErr)
				}
			})
		}
	}
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

// TestBadSnapshots: damaged, forged or undecryptable snapshots fail with a
// clear error naming the object, and the local store is not touched.
func TestBadSnapshots(t *testing.T) {
	ctx := context.Background()
	other := newPair(t, "other")
	tests := []struct {
		name    string
		prepare func(t *testing.T, p *pair, b *bucket) *uploader.Backup
		wantErr error
	}{
		{"authenticator differs", func(t *testing.T, p *pair, b *bucket) *uploader.Backup {
			b.snapshot(t, p.bob, func(m *uploader.SnapshotMeta) { m.EpochAuthenticator = bytes.Repeat([]byte{7}, 32) })
			return b.backup
		}, ErrMismatch},
		{"epoch differs", func(t *testing.T, p *pair, b *bucket) *uploader.Backup {
			b.snapshot(t, p.bob, func(m *uploader.SnapshotMeta) { m.Epoch += 5 })
			return b.backup
		}, ErrMismatch},
		{"group differs", func(t *testing.T, p *pair, b *bucket) *uploader.Backup {
			b.snapshot(t, other.bob, func(m *uploader.SnapshotMeta) { m.GroupID = p.bob.g.GroupID() })
			return b.backup
		}, ErrMismatch},
		{"not a snapshot", func(t *testing.T, p *pair, b *bucket) *uploader.Backup {
			data := []byte("this is not an MLS group snapshot")
			if _, err := b.backup.Upload(ctx, uploader.SnapshotMeta{GroupID: p.bob.g.GroupID(), Epoch: 1, Size: int64(len(data))}, bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			return b.backup
		}, engine.ErrCorrupt},
		{"flipped ciphertext", func(t *testing.T, p *pair, b *bucket) *uploader.Backup {
			m := b.snapshot(t, p.bob, nil)
			path := filepath.Join(b.dir, filepath.FromSlash(m.DataKey))
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)-20] ^= 1
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			return b.backup
		}, uploader.ErrCorrupt},
		{"wrong identity", func(t *testing.T, p *pair, b *bucket) *uploader.Backup {
			b.snapshot(t, p.bob, nil)
			return newBucketOver(t, b.dir, b.signers)
		}, uploader.ErrNoIdentity},
		{"untrusted signer", func(t *testing.T, p *pair, b *bucket) *uploader.Backup {
			b.snapshot(t, p.bob, nil)
			return newBucketOver(t, b.dir, nil)
		}, uploader.ErrUntrustedSigner},
		{"no snapshot", func(t *testing.T, p *pair, b *bucket) *uploader.Backup {
			b.snapshot(t, other.bob, nil)
			return b.backup
		}, uploader.ErrNoSnapshot},
	}
	for _, tc := range tests {
		for _, mode := range []string{"one-step", "two-step", "open-on-import"} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				p := newPair(t, "bad")
				b := newBucket(t)
				src := tc.prepare(t, p, b)
				st := engine.NewMemStorage()
				var dst Target = StoreTarget{Storage: st}
				opens := 0
				switch mode {
				case "two-step":
					dst = twoStep{dst}
				case "open-on-import":
					dst = &OpenOnImport{Open: func(context.Context) (Target, error) { opens++; return StoreTarget{Storage: st}, nil }}
				}
				res, err := Run(ctx, src, dst, Request{Group: []byte("bad")}, Options{})
				if opens != 0 {
					t.Fatalf("the data directory was opened for a snapshot that failed")
				}
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				var ge *GroupError
				if !errors.As(err, &ge) || !bytes.Equal(ge.Group, []byte("bad")) || Hint(err) == "" {
					t.Fatalf("err = %v, want a *GroupError naming the group with a hint", err)
				}
				if len(res) != 1 || res[0].Status != StatusFailed {
					t.Fatalf("results = %+v, want one failure", res)
				}
				if ge.Key != "" && !strings.Contains(err.Error(), ge.Key) {
					t.Fatalf("err %q does not name the object %s", err, ge.Key)
				}
				if got := len(st.Dump()); got != 0 {
					t.Fatalf("store holds %d components after a failed restore, want 0", got)
				}
			})
		}
	}
}

// twoStep hides StoreTarget's one-pass import, so that Run verifies the
// snapshot on its own and then imports it (as into a running agent).
type twoStep struct{ Target }

// newBucketOver opens dir with a fresh, unrelated identity that trusts the
// signers trust.
func newBucketOver(t *testing.T, dir string, trust []uploader.Signer) *uploader.Backup {
	other := newBucket(t)
	other.signers = append(other.signers, trust...)
	st, err := dirstoreNew(dir)
	if err != nil {
		t.Fatal(err)
	}
	return other.withStore(t, st)
}

// TestAll restores every group in parallel; a damaged group does not stop
// the others and is reported by name.
func TestAll(t *testing.T) {
	ctx := context.Background()
	b := newBucket(t)
	const n = 6
	var want []string
	for i := range n {
		p := newPair(t, "group-"+string(rune('a'+i)))
		p.advance(t)
		if i == 3 {
			b.snapshot(t, p.bob, func(m *uploader.SnapshotMeta) { m.EpochAuthenticator = bytes.Repeat([]byte{1}, 32) })
			continue
		}
		b.snapshot(t, p.bob, nil)
		want = append(want, string(p.bob.g.GroupID()))
	}
	for _, dry := range []bool{true, false} {
		st := openStore(t, filepath.Join(t.TempDir(), "d"))
		var seen int
		res, err := Run(ctx, b.backup, StoreTarget{Storage: st}, Request{All: true},
			Options{DryRun: dry, Concurrency: 3, OnResult: func(Result) { seen++ }})
		if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "group-d") && !strings.Contains(err.Error(), "67726f75702d64") {
			t.Fatalf("dry=%v: err = %v, want the mismatch of group-d", dry, err)
		}
		if len(res) != n || seen != n {
			t.Fatalf("dry=%v: %d results, %d reported, want %d", dry, len(res), seen, n)
		}
		wantStatus := StatusRestored
		if dry {
			wantStatus = StatusWouldRestore
		}
		var got []string
		for _, r := range res {
			if r.Status == wantStatus {
				got = append(got, string(r.Group))
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("dry=%v: %s groups %v, want %v", dry, wantStatus, got, want)
		}
		groups, err := st.Groups(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantGroups := len(want)
		if dry {
			wantGroups = 0
		}
		if len(groups) != wantGroups {
			t.Fatalf("dry=%v: store holds %d groups, want %d", dry, len(groups), wantGroups)
		}
	}
}

// TestAllWithSelector: --all with an epoch restores the groups that have a
// snapshot of that epoch and reports the others as failed by name.
func TestAllWithSelector(t *testing.T) {
	ctx := context.Background()
	b := newBucket(t)
	one, two := newPair(t, "one"), newPair(t, "two")
	b.snapshot(t, one.bob, nil) // epoch 1
	one.advance(t)
	b.snapshot(t, one.bob, nil) // epoch 2
	two.advance(t)
	two.advance(t)
	b.snapshot(t, two.bob, nil) // epoch 3
	st := engine.NewMemStorage()
	res, err := Run(ctx, b.backup, StoreTarget{Storage: st}, Request{All: true, Select: Selector{Epoch: 1, HasEpoch: true}}, Options{})
	if !errors.Is(err, uploader.ErrNoSnapshot) || !strings.Contains(err.Error(), fmt.Sprintf("%x", "two")) {
		t.Fatalf("err = %v, want no snapshot of group two", err)
	}
	got := map[string]Status{}
	for _, r := range res {
		got[string(r.Group)] = r.Status
	}
	if want := map[string]Status{"one": StatusRestored, "two": StatusFailed}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("statuses = %v, want %v", got, want)
	}
	g, err := engine.LoadGroup(ctx, st, []byte("one"), engine.Options{})
	if err != nil || g.Epoch() != 1 {
		t.Fatalf("group one after restore: %v, want epoch 1", err)
	}
}

// sourceOnly hides every method of a Backup but Source's, so that Run
// takes the path that reads all manifests before restoring.
type sourceOnly struct{ Source }

// TestAllManifests: --all reads each group's newest manifest (in the
// restoring worker with a RefSource, up front otherwise); an unreadable
// manifest fails its group only, named, and the others are restored.
func TestAllManifests(t *testing.T) {
	ctx := context.Background()
	b := newBucket(t)
	var bad uploader.Manifest
	for _, name := range []string{"m-a", "m-b", "m-c"} {
		p := newPair(t, name)
		m := b.snapshot(t, p.bob, nil)
		if name == "m-b" {
			bad = m
		}
	}
	if err := os.WriteFile(filepath.Join(b.dir, bad.Key), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		src  Source
	}{
		{"ref source", b.backup},
		{"plain source", sourceOnly{b.backup}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := engine.NewMemStorage()
			res, err := Run(ctx, tt.src, StoreTarget{Storage: st}, Request{All: true}, Options{Concurrency: 2})
			if !errors.Is(err, uploader.ErrBadManifest) {
				t.Fatalf("err = %v, want the bad manifest", err)
			}
			got := map[string]Status{}
			for _, r := range res {
				got[string(r.Group)] = r.Status
			}
			// m-b fails, named, either way: listed by key and failed on its
			// manifest, or failed in the listing.
			want := map[string]Status{"m-a": StatusRestored, "m-b": StatusFailed, "m-c": StatusRestored}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("statuses = %v, want %v", got, want)
			}
		})
	}
}
