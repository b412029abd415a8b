package mlscrash

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/localstore"
)

// TestRestoredEpochRefusesEncrypt imports alice's snapshot into a fresh
// localstore: encrypting in the restored epoch fails with
// ErrRestoredEpoch; after bob's next commit it works again, and no key or
// nonce alice used before the snapshot is used again.
func TestRestoredEpochRefusesEncrypt(t *testing.T) {
	ctx := context.Background()
	opts := engine.Options{LeaseBlock: 4}
	st, _, err := localstore.Open(ctx, fsx.NewMem(), "/data", localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, g := setupReuse(ctx, t, st, opts)
	for i := range 10 {
		plain := []byte{byte(i)}
		msg, err := g.Encrypt(ctx, plain, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.deliver(ctx, msg, plain); err != nil {
			t.Fatal(err)
		}
	}
	snap, info, err := engine.ExportSnapshot(ctx, st, r.gid)
	if err != nil {
		t.Fatal(err)
	}
	// Alice keeps sending after the snapshot: these generations are
	// exactly the ones a restored member must not use again.
	for i := range 5 {
		plain := []byte{byte(100 + i)}
		msg, err := g.Encrypt(ctx, plain, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.deliver(ctx, msg, plain); err != nil {
			t.Fatal(err)
		}
	}

	st2, _, err := localstore.Open(ctx, fsx.NewMem(), "/restored", localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if _, err := engine.ImportSnapshot(ctx, st2, snap, false); err != nil {
		t.Fatal(err)
	}
	rg, err := engine.LoadGroup(ctx, st2, r.gid, opts)
	if err != nil {
		t.Fatal(err)
	}
	if rg.Epoch() != info.Epoch || !rg.Restored() {
		t.Fatalf("restored group: epoch %d restored %v, want epoch %d restored", rg.Epoch(), rg.Restored(), info.Epoch)
	}
	if _, err := rg.Encrypt(ctx, []byte("too early"), nil); !errors.Is(err, engine.ErrRestoredEpoch) {
		t.Fatalf("encrypt in the restored epoch: got %v, want ErrRestoredEpoch", err)
	}
	// Still refused after a reload from the store.
	if rg, err = engine.LoadGroup(ctx, st2, r.gid, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := rg.Encrypt(ctx, []byte("too early"), nil); !errors.Is(err, engine.ErrRestoredEpoch) {
		t.Fatalf("encrypt in the restored epoch after reload: got %v, want ErrRestoredEpoch", err)
	}
	if err := r.bobCommits(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.catchUp(ctx, rg); err != nil {
		t.Fatal(err)
	}
	// Bob's commit is not enough: the lost state may have reached this
	// epoch too and sent in it.
	if !rg.Restored() || rg.Epoch() != info.Epoch+1 {
		t.Fatalf("after bob's commit: epoch %d restored %v, want epoch %d still restored", rg.Epoch(), rg.Restored(), info.Epoch+1)
	}
	if _, err := rg.Encrypt(ctx, []byte("too early"), nil); !errors.Is(err, engine.ErrRestoredEpoch) {
		t.Fatalf("encrypt after catching up: got %v, want ErrRestoredEpoch", err)
	}
	if err := r.restoredCommits(ctx, rg); err != nil {
		t.Fatal(err)
	}
	if rg.Restored() || rg.Epoch() != info.Epoch+2 {
		t.Fatalf("after alice's own commit: epoch %d restored %v, want epoch %d not restored", rg.Epoch(), rg.Restored(), info.Epoch+2)
	}
	for i := range 5 {
		plain := []byte{byte(200 + i)}
		msg, err := rg.Encrypt(ctx, plain, nil)
		if err != nil {
			t.Fatalf("encrypt after the own commit: %v", err)
		}
		if err := r.deliver(ctx, msg, plain); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(rg.EpochAuthenticator(), r.bg.EpochAuthenticator()) {
		t.Fatal("restored alice and bob disagree on the epoch authenticator")
	}
}

// restoredCommits makes the restored alice (rg) commit a self-update, merge
// it, and bob process it; the log learns the new epoch from bob.
func (r *reuseRig) restoredCommits(ctx context.Context, rg *engine.Group) error {
	out, err := rg.Commit(ctx, engine.CommitOptions{SelfUpdate: true})
	if err != nil {
		return fmt.Errorf("restored member commits: %w", err)
	}
	if _, err := rg.MergePendingCommit(ctx); err != nil {
		return fmt.Errorf("restored member merges: %w", err)
	}
	if _, err := r.bg.Process(ctx, out.Commit); err != nil {
		return fmt.Errorf("bob processes the restored member's commit: %w", err)
	}
	return r.log.Enter(ctx, r.bob.st, r.gid, r.bg.Epoch())
}

// TestRestoreCatchUpReusesKeyAndNonce is issue 12's reproduction: alice's
// snapshot is taken at epoch E; bob commits (E+1); alice sends in E+1;
// alice loses her disk and is restored at E; she processes bob's commit
// (catching up) and must not send: her next message would use generation 0
// of E+1 again, the key and nonce of the message she sent before the loss.
// Sending is refused until her own self-update commit is merged, and then
// no (key, nonce) repeats.
func TestRestoreCatchUpReusesKeyAndNonce(t *testing.T) {
	for _, private := range []bool{false, true} {
		t.Run(fmt.Sprintf("private_handshake=%v", private), func(t *testing.T) {
			ctx := context.Background()
			opts := engine.Options{PrivateHandshake: private}
			st := engine.NewMemStorage()
			r, g := setupReuse(ctx, t, st, opts)
			snap, info, err := engine.ExportSnapshot(ctx, st, r.gid)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.bobCommits(ctx); err != nil {
				t.Fatal(err)
			}
			if err := r.catchUp(ctx, g); err != nil {
				t.Fatal(err)
			}
			msg, err := g.Encrypt(ctx, []byte("before the loss"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.deliver(ctx, msg, []byte("before the loss")); err != nil {
				t.Fatal(err)
			}

			st2 := engine.NewMemStorage()
			if _, err := engine.ImportSnapshot(ctx, st2, snap, false); err != nil {
				t.Fatal(err)
			}
			rg, err := engine.LoadGroup(ctx, st2, r.gid, opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.catchUp(ctx, rg); err != nil {
				t.Fatal(err)
			}
			if rg.Epoch() != info.Epoch+1 {
				t.Fatalf("caught up to epoch %d, want %d", rg.Epoch(), info.Epoch+1)
			}
			if _, err := rg.Encrypt(ctx, []byte("after the restore"), nil); !errors.Is(err, engine.ErrRestoredEpoch) {
				t.Fatalf("encrypt after restore and catch-up: got %v, want ErrRestoredEpoch (the key and nonce of the message sent before the loss)", err)
			}
			// Restarts keep the mark, and so does a snapshot of the
			// restored group restored again.
			if rg, err = engine.LoadGroup(ctx, st2, r.gid, opts); err != nil {
				t.Fatal(err)
			}
			again, _, err := engine.ExportSnapshot(ctx, st2, r.gid)
			if err != nil {
				t.Fatal(err)
			}
			st3 := engine.NewMemStorage()
			if _, err := engine.ImportSnapshot(ctx, st3, again, false); err != nil {
				t.Fatal(err)
			}
			rg3, err := engine.LoadGroup(ctx, st3, r.gid, opts)
			if err != nil {
				t.Fatal(err)
			}
			for name, x := range map[string]*engine.Group{"reloaded": rg, "restored again": rg3} {
				if _, err := x.Encrypt(ctx, []byte("x"), nil); !errors.Is(err, engine.ErrRestoredEpoch) {
					t.Fatalf("%s: encrypt = %v, want ErrRestoredEpoch", name, err)
				}
			}
			if err := r.restoredCommits(ctx, rg); err != nil {
				t.Fatal(err)
			}
			msg, err = rg.Encrypt(ctx, []byte("after the own commit"), nil)
			if err != nil {
				t.Fatalf("encrypt after the own commit: %v", err)
			}
			if err := r.deliver(ctx, msg, []byte("after the own commit")); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestNonceLogDetectsReuse checks the detector itself: the same
// PrivateMessage observed twice is a reuse.
func TestNonceLogDetectsReuse(t *testing.T) {
	ctx := context.Background()
	r, g := setupReuse(ctx, t, engine.NewMemStorage(), engine.Options{})
	msg, err := g.Encrypt(ctx, []byte("once"), nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, gen, err := r.log.Observe(msg)
	if err != nil {
		t.Fatal(err)
	}
	if want := g.OwnIndex(); leaf != want || gen != 0 {
		t.Fatalf("observed leaf %d generation %d, want leaf %d generation 0", leaf, gen, want)
	}
	if _, _, err := r.log.Observe(msg); !errors.Is(err, ErrReuse) {
		t.Fatalf("second observation: got %v, want ErrReuse", err)
	}
}
