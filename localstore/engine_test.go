package localstore_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/localstore"
)

// TestEngineOnStore runs the real engine on a file store: Alice (on disk)
// creates a group, adds Bob (in memory) and self-updates; after the store
// is closed and reopened, Alice's group loads and still agrees with Bob.
func TestEngineOnStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, _, err := localstore.Open(ctx, fsx.OS{}, dir, localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	alice := engine.NewClient(st, []byte("alice"), engine.Options{})
	bob := engine.NewClient(engine.NewMemStorage(), []byte("bob"), engine.Options{})
	const id = suite.X25519AES128GCMSHA256Ed25519
	ga, err := alice.CreateGroup(ctx, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := bob.CreateKeyPackage(ctx, id, false)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ga.Commit(ctx, engine.CommitOptions{Add: [][]byte{kp}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ga.MergePendingCommit(ctx); err != nil {
		t.Fatal(err)
	}
	gb, err := bob.JoinFromWelcome(ctx, out.Welcome, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err = ga.Commit(ctx, engine.CommitOptions{SelfUpdate: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ga.MergePendingCommit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := gb.Process(ctx, out.Commit); err != nil {
		t.Fatal(err)
	}
	gid := ga.GroupID()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, _, err = localstore.Open(ctx, fsx.OS{}, dir, localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ga, err = engine.LoadGroup(ctx, st, gid, engine.Options{})
	if err != nil {
		t.Fatalf("load after reopen: %v", err)
	}
	if ga.Epoch() != gb.Epoch() || !bytes.Equal(ga.EpochAuthenticator(), gb.EpochAuthenticator()) {
		t.Fatalf("after reopen alice epoch %d, bob epoch %d: authenticators differ", ga.Epoch(), gb.Epoch())
	}
	ct, err := ga.Encrypt(ctx, []byte("still here"), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := gb.Process(ctx, ct)
	if err != nil || string(r.ApplicationData) != "still here" {
		t.Fatalf("bob got %+v, %v", r, err)
	}
}
