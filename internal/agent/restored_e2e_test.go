package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/engine/wire"
	"github.com/mlsbackup/mlsbackup/internal/mlscrash"
	"github.com/mlsbackup/mlsbackup/internal/restore"
	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/dirstore"
)

// restoredRig is issue 12's scenario through real agents: alice, bob and
// carol each run an agent, the test is their delivery service, and bob
// loses his data directory and is restored from his own uploaded
// snapshots. log records the sender generation, key and nonce of every
// application message sent, across all of bob's incarnations; it learns
// each epoch's secrets from alice's store when she enters the epoch.
type restoredRig struct {
	t                  *testing.T
	gid                []byte
	alice, bob, carol  *testAgent
	bobDir             string
	bobStore           uploader.ObjectStore
	bobAge             *age.X25519Identity
	bobKey             string // his signing key file, which survives the lost disk
	log                *mlscrash.NonceLog
	incarnations, sent int
}

func newRestoredRig(t *testing.T) *restoredRig {
	t.Helper()
	ctx := ctxT(t)
	r := &restoredRig{t: t, gid: []byte("team"), bobDir: filepath.Join(shortTempDir(t), "data"), log: mlscrash.NewNonceLog()}
	var err error
	if r.bobStore, err = dirstore.New(filepath.Join(shortTempDir(t), "bucket")); err != nil {
		t.Fatal(err)
	}
	if r.bobAge, err = age.GenerateX25519Identity(); err != nil {
		t.Fatal(err)
	}
	r.bobKey = newTestSigningKeyFile(t)
	r.alice = newTestAgent(t, agentOpts{identity: "alice"})
	r.carol = newTestAgent(t, agentOpts{identity: "carol"})
	r.startBob()
	if _, err := r.alice.c.Create(ctx, CreateRequest{Name: string(r.gid)}); err != nil {
		t.Fatal(err)
	}
	var kps [][]byte
	for _, m := range []*testAgent{r.bob, r.carol} {
		kp, err := m.c.KeyPackage(ctx, KeyPackageRequest{})
		if err != nil {
			t.Fatal(err)
		}
		kps = append(kps, kp)
	}
	add, err := r.alice.c.Add(ctx, r.gid, AddRequest{KeyPackages: kps})
	if err != nil || add.Epoch != 1 {
		t.Fatalf("alice adds bob and carol: %+v, %v", add, err)
	}
	r.enter(1)
	for _, m := range []*testAgent{r.bob, r.carol} {
		if _, err := m.c.Receive(ctx, ReceiveRequest{Message: add.Welcome}); err != nil {
			t.Fatalf("%s joins: %v", m.cfg.ClientName, err)
		}
	}
	return r
}

// startBob starts a new incarnation of bob's agent on his data directory
// (empty after a disk loss) and his bucket.
func (r *restoredRig) startBob() {
	r.incarnations++
	r.bob = newTestAgent(r.t, agentOpts{identity: "bob", dataDir: r.bobDir, store: r.bobStore, ageID: r.bobAge, keyFile: r.bobKey})
}

// loseDisk stops bob's agent, wipes his data directory and starts an
// agent on the empty directory.
func (r *restoredRig) loseDisk() {
	r.t.Helper()
	r.bob.stop()
	if err := os.RemoveAll(r.bobDir); err != nil {
		r.t.Fatal(err)
	}
	r.startBob()
}

// restore restores bob's snapshot of epoch through his running agent, as
// the CLI's restore does when an agent holds the data directory.
func (r *restoredRig) restore(epoch uint64) {
	r.t.Helper()
	res, err := restore.Run(ctxT(r.t), r.bob.backup(), r.bob.c, restore.Request{Group: r.gid, Select: restore.Selector{Epoch: epoch, HasEpoch: true}}, restore.Options{})
	if err != nil || len(res) != 1 || res[0].Status != restore.StatusRestored {
		r.t.Fatalf("restore epoch %d: %+v, %v", epoch, res, err)
	}
	info, err := r.bob.c.Info(ctxT(r.t), r.gid)
	if err != nil || info.Epoch != epoch || !info.Restored {
		r.t.Fatalf("bob after the restore: %+v, %v; want epoch %d, restored", info, err, epoch)
	}
}

// enter lets the log learn epoch from alice's store; call it as soon as
// alice enters the epoch, before any of its keys is consumed.
func (r *restoredRig) enter(epoch uint64) {
	r.t.Helper()
	if err := r.log.Enter(ctxT(r.t), r.alice.a.Store(), r.gid, epoch); err != nil {
		r.t.Fatal(err)
	}
}

// deliver makes each of to process msg and checks a plaintext.
func (r *restoredRig) deliver(msg []byte, plain string, to ...*testAgent) {
	r.t.Helper()
	for _, m := range to {
		got, err := m.c.Receive(ctxT(r.t), ReceiveRequest{Message: msg})
		if err != nil {
			r.t.Fatalf("%s receives: %v", m.cfg.ClientName, err)
		}
		if plain != "" && string(got.Data) != plain {
			r.t.Fatalf("%s decrypted %q, want %q", m.cfg.ClientName, got.Data, plain)
		}
	}
}

// send makes from send text, records it in the log and delivers it.
func (r *restoredRig) send(from *testAgent, text string, to ...*testAgent) {
	r.t.Helper()
	s, err := from.c.Send(ctxT(r.t), r.gid, SendRequest{Text: text})
	if err != nil {
		r.t.Fatalf("%s sends %q: %v", from.cfg.ClientName, text, err)
	}
	if leaf, gen, err := r.log.Observe(s.Message); err != nil {
		r.t.Fatalf("%s's %q (incarnation %d, epoch %d, leaf %d, generation %d): %v", from.cfg.ClientName, text, r.incarnations, s.Epoch, leaf, gen, err)
	}
	r.sent++
	r.deliver(s.Message, text, to...)
}

// refused checks that bob's send is refused as restored_epoch, with an
// error that says what to do. A send that goes through is checked against
// the log, which names the key and nonce it reused.
func (r *restoredRig) refused(when string) {
	r.t.Helper()
	s, err := r.bob.c.Send(ctxT(r.t), r.gid, SendRequest{Text: "too early: " + when})
	if err == nil {
		_, _, reuse := r.log.Observe(s.Message)
		r.t.Fatalf("bob's send %s (epoch %d) was accepted, want restored_epoch; nonce log: %v", when, s.Epoch, reuse)
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "restored_epoch" || !errors.Is(err, engine.ErrRestoredEpoch) {
		r.t.Fatalf("bob's send %s: %v, want restored_epoch", when, err)
	}
	for _, hint := range []string{"commit a self-update", "re-join"} {
		if !strings.Contains(err.Error(), hint) {
			r.t.Errorf("bob's refusal %s does not say %q: %v", when, hint, err)
		}
	}
}

// agree checks that the three members are at epoch with one epoch
// authenticator, and whether bob is still marked restored.
func (r *restoredRig) agree(epoch uint64, restored bool) GroupInfo {
	r.t.Helper()
	var want GroupInfo
	for i, m := range []*testAgent{r.alice, r.bob, r.carol} {
		info, err := m.c.Info(ctxT(r.t), r.gid)
		if err != nil {
			r.t.Fatal(err)
		}
		if info.Epoch != epoch || (i > 0 && info.EpochAuthenticator != want.EpochAuthenticator) {
			r.t.Fatalf("%s: epoch %d authenticator %s, want epoch %d authenticator %s", m.cfg.ClientName, info.Epoch, info.EpochAuthenticator, epoch, want.EpochAuthenticator)
		}
		if m == r.bob && info.Restored != restored {
			r.t.Fatalf("bob restored = %v, want %v", info.Restored, restored)
		}
		if i == 0 {
			want = info
		}
	}
	return want
}

// commit makes from commit a self-update, delivers it to to, and lets
// the log learn the new epoch.
func (r *restoredRig) commit(from *testAgent, to ...*testAgent) CommitResponse {
	r.t.Helper()
	c, err := from.c.Update(ctxT(r.t), r.gid, UpdateRequest{})
	if err != nil || !c.Merged {
		r.t.Fatalf("%s commits a self-update: %+v, %v", from.cfg.ClientName, c, err)
	}
	if from == r.alice {
		r.enter(c.Epoch)
	}
	r.deliver(c.Commit, "", to...)
	if from != r.alice {
		r.enter(c.Epoch)
	}
	return c
}

// TestRestoreCatchUpRefusesSendUntilOwnCommit is issue 12 (1) through the
// agents: bob's snapshot at epoch 1; bob sends in epoch 1 after it; alice
// commits (epoch 2); bob sends in epoch 2; bob loses his disk, restores
// epoch 1 and catches up on alice's commit. His send must be refused (it
// would reuse generation 0 of epoch 2), also after an agent restart and
// after a snapshot of the restored group is itself restored; his
// self-update (a PublicMessage with a path) lifts the refusal, and no
// (key, nonce) repeats over all his incarnations.
func TestRestoreCatchUpRefusesSendUntilOwnCommit(t *testing.T) {
	ctx := ctxT(t)
	r := newRestoredRig(t)
	if e, err := r.bob.c.Snapshot(ctx, r.gid); err != nil || e != 1 {
		t.Fatalf("bob's snapshot: epoch %d, %v; want 1", e, err)
	}
	r.send(r.bob, "epoch 1, after the snapshot", r.alice, r.carol)
	missed := r.commit(r.alice, r.bob, r.carol)
	r.send(r.bob, "epoch 2, before the loss", r.alice, r.carol)
	r.agree(2, false)

	r.loseDisk()
	r.restore(1)
	r.refused("in the restored epoch")
	r.deliver(missed.Commit, "", r.bob)
	r.refused("after catching up")
	r.agree(2, true)

	r.bob.stop()
	r.startBob()
	r.refused("after an agent restart")

	if e, err := r.bob.c.Snapshot(ctx, r.gid); err != nil || e != 2 {
		t.Fatalf("snapshot of the restored group: epoch %d, %v; want 2", e, err)
	}
	r.loseDisk()
	r.restore(2)
	r.refused("after restoring a snapshot of the restored group")

	up := r.commit(r.bob, r.alice, r.carol)
	checkRestoredCommit(t, up.Commit)
	r.agree(3, false)
	r.send(r.bob, "epoch 3, after his own commit", r.alice, r.carol)
	r.send(r.alice, "welcome back", r.bob, r.carol)
	r.send(r.carol, "hello bob", r.alice, r.bob)
	t.Logf("%d messages over %d incarnations of bob: no (epoch, sender, generation) or (key, nonce) repeated", r.log.Messages, r.incarnations)
}

// TestRestoredOwnCommitNeedsRejoin is the variant where the commits bob
// missed include his own pre-loss commit: the restored state cannot
// follow it, processing it fails with an error that says to re-join, and
// an external commit that resyncs his old leaf lets him send again.
func TestRestoredOwnCommitNeedsRejoin(t *testing.T) {
	ctx := ctxT(t)
	r := newRestoredRig(t)
	if _, err := r.bob.c.Snapshot(ctx, r.gid); err != nil {
		t.Fatal(err)
	}
	old, err := r.bob.c.Info(ctx, r.gid)
	if err != nil {
		t.Fatal(err)
	}
	r.send(r.bob, "epoch 1, after the snapshot", r.alice, r.carol)
	own := r.commit(r.bob, r.alice, r.carol)
	r.send(r.bob, "epoch 2, before the loss", r.alice, r.carol)
	r.commit(r.alice, r.bob, r.carol)
	r.agree(3, false)

	r.loseDisk()
	r.restore(1)
	_, err = r.bob.c.Receive(ctx, ReceiveRequest{Message: own.Commit})
	if !errors.Is(err, engine.ErrInvalidCommit) || !strings.Contains(err.Error(), "re-join") ||
		!strings.Contains(err.Error(), fmt.Sprintf("leaf %d when the snapshot was taken", old.OwnIndex)) {
		t.Fatalf("bob processes his own pre-loss commit: %v; want invalid_commit saying to re-join with resync leaf %d", err, old.OwnIndex)
	}
	r.refused("after failing to catch up")

	gi, err := r.alice.c.GroupInfo(ctx, r.gid, true)
	if err != nil {
		t.Fatal(err)
	}
	leaf := old.OwnIndex
	ext, err := r.bob.c.JoinExternal(ctx, ExternalJoinRequest{GroupInfo: gi, ResyncLeaf: &leaf})
	if err != nil || ext.Group.Epoch != 4 || ext.Group.Restored {
		t.Fatalf("bob re-joins: %+v, %v; want epoch 4, not restored", ext.Group, err)
	}
	for _, m := range []*testAgent{r.alice, r.carol} {
		got, err := m.c.Receive(ctx, ReceiveRequest{Message: ext.Commit})
		if err != nil || got.Commit == nil || len(got.Commit.Removed) != 1 || got.Commit.Removed[0].Index != leaf ||
			len(got.Commit.Added) != 1 || got.Commit.Added[0].Identity != "bob" {
			t.Fatalf("%s receives bob's re-join: %+v, %v; want bob's leaf %d replaced", m.cfg.ClientName, got.Commit, err, leaf)
		}
		if m == r.alice {
			r.enter(4)
		}
	}
	if info := r.agree(4, false); len(info.Members) != 3 {
		t.Fatalf("members after the re-join: %+v, want 3", info.Members)
	}
	r.send(r.bob, "epoch 4, after the re-join", r.alice, r.carol)
	r.send(r.alice, "welcome back", r.bob, r.carol)
	t.Logf("%d messages over %d incarnations of bob: no (epoch, sender, generation) or (key, nonce) repeated", r.log.Messages, r.incarnations)
}

// checkRestoredCommit checks that a restored member's commit is a
// PublicMessage with an UpdatePath: it uses no secret-tree key, and its
// epoch derives from a commit secret the lost state never had.
func checkRestoredCommit(t *testing.T, commit []byte) {
	t.Helper()
	m, err := wire.ParseMLSMessage(commit, 0)
	if err != nil {
		t.Fatal(err)
	}
	if m.WireFormat != wire.WireFormatPublicMessage || m.PublicMessage.Content.Commit == nil || m.PublicMessage.Content.Commit.Path == nil {
		t.Fatalf("the restored member's commit: wire format %d; want a PublicMessage commit with a path", m.WireFormat)
	}
}
