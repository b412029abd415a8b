package mlscrash

import (
	"bytes"
	"context"
	"errors"
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
	if rg.Restored() || rg.Epoch() != info.Epoch+1 {
		t.Fatalf("after bob's commit: epoch %d restored %v, want epoch %d not restored", rg.Epoch(), rg.Restored(), info.Epoch+1)
	}
	for i := range 5 {
		plain := []byte{byte(200 + i)}
		msg, err := rg.Encrypt(ctx, plain, nil)
		if err != nil {
			t.Fatalf("encrypt after the next commit: %v", err)
		}
		if err := r.deliver(ctx, msg, plain); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(rg.EpochAuthenticator(), r.bg.EpochAuthenticator()) {
		t.Fatal("restored alice and bob disagree on the epoch authenticator")
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
