package mlscrash

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/localstore"
)

// errCheck marks failures of the test's own checks, as opposed to
// failures caused by the injected crash.
var errCheck = errors.New("check failed")

// reuseRig is a two-member group: alice on a crash-injected localstore,
// bob in memory, and the log of bob's commits for alice to catch up from.
type reuseRig struct {
	gid     []byte
	opts    engine.Options
	bob     *member
	bg      *engine.Group
	commits [][]byte // bob's commits, in order, by epoch they belong to
	epochs  []uint64
	log     *NonceLog
	sent    int
}

// deliver makes bob process alice's message msg and records it.
func (r *reuseRig) deliver(ctx context.Context, msg, plain []byte) error {
	if _, _, err := r.log.Observe(msg); err != nil {
		return fmt.Errorf("%w: %w", errCheck, err)
	}
	res, err := r.bg.Process(ctx, msg)
	if err != nil {
		return fmt.Errorf("%w: bob processes alice's message: %w", errCheck, err)
	}
	if !bytes.Equal(res.ApplicationData, plain) {
		return fmt.Errorf("%w: bob decrypted %q, want %q", errCheck, res.ApplicationData, plain)
	}
	return nil
}

// bobCommits makes bob commit a self-update and enter the new epoch.
func (r *reuseRig) bobCommits(ctx context.Context) error {
	out, err := r.bg.Commit(ctx, engine.CommitOptions{SelfUpdate: true})
	if err != nil {
		return err
	}
	r.commits = append(r.commits, out.Commit)
	r.epochs = append(r.epochs, r.bg.Epoch())
	if _, err := r.bg.MergePendingCommit(ctx); err != nil {
		return err
	}
	return r.log.Enter(ctx, r.bob.st, r.gid, r.bg.Epoch())
}

// catchUp makes alice process bob's commits she has not durably processed.
func (r *reuseRig) catchUp(ctx context.Context, g *engine.Group) error {
	for i, c := range r.commits {
		if r.epochs[i] != g.Epoch() {
			continue
		}
		if _, err := g.Process(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

func setupReuse(ctx context.Context, t *testing.T, st engine.Storage, opts engine.Options) (*reuseRig, *engine.Group) {
	t.Helper()
	r := &reuseRig{gid: []byte("reuse"), opts: opts, log: NewNonceLog()}
	r.bob = newMember("bob", engine.NewMemStorage(), opts)
	alice := engine.NewClient(st, []byte(mutName), opts)
	g, err := alice.CreateGroup(ctx, cs, r.gid)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := r.bob.client.CreateKeyPackage(ctx, cs, false)
	if err != nil {
		t.Fatal(err)
	}
	out, err := g.Commit(ctx, engine.CommitOptions{Add: [][]byte{kp}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.MergePendingCommit(ctx); err != nil {
		t.Fatal(err)
	}
	if r.bg, err = r.bob.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.log.Enter(ctx, r.bob.st, r.gid, r.bg.Epoch()); err != nil {
		t.Fatal(err)
	}
	return r, g
}

// TestNoNonceReuseAcrossCrashes encrypts as alice on a localstore that
// crashes at a random file-system operation, recovers and encrypts again,
// many times; no (epoch, sender, generation) and no (key, nonce) of any
// PrivateMessage alice produced may repeat, and bob decrypts them all.
func TestNoNonceReuseAcrossCrashes(t *testing.T) {
	ctx := context.Background()
	rounds := 300
	if testing.Short() {
		rounds = 60
	}
	opts := engine.Options{LeaseBlock: 4}
	mem := fsx.NewMem()
	st, _, err := localstore.Open(ctx, mem, "/data", localstore.Options{SyncApply: true})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := setupReuse(ctx, t, st, opts)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	crashes, resumed, sentBefore := 0, 0, 0
	for round := range rounds {
		mode := []fsx.CrashMode{fsx.PowerLoss, fsx.ProcessKill}[round%2]
		faulty := fsx.NewFaulty(mem, fsx.FaultyOptions{FailAt: 1 + rng.Int64N(200), Torn: rng.IntN(2) == 0})
		err := runUntilCrash(ctx, r, faulty, localstore.Options{SyncApply: round%3 != 0}, opts, rng)
		if !faulty.Crashed() {
			t.Fatalf("round %d: no crash: %v", round, err)
		}
		if errors.Is(err, errCheck) {
			t.Fatalf("round %d: %v", round, err)
		}
		if r.sent > sentBefore {
			resumed++
		}
		sentBefore = r.sent
		mem.Crash(mode)
		crashes++
	}
	// Recover once more: the group must still work.
	st, _, err = localstore.Open(ctx, mem, "/data", localstore.Options{SyncApply: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	g, err := engine.LoadGroup(ctx, st, r.gid, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.catchUp(ctx, g); err != nil {
		t.Fatal(err)
	}
	msg, err := g.Encrypt(ctx, []byte("final"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.deliver(ctx, msg, []byte("final")); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g.EpochAuthenticator(), r.bg.EpochAuthenticator()) {
		t.Fatal("alice and bob disagree on the epoch authenticator")
	}
	if resumed < crashes/3 { // crash points in recovery itself leave no send
		t.Fatalf("alice sent after recovering in only %d of %d rounds", resumed, crashes)
	}
	t.Logf("%d crashes (alice sent after recovering in %d rounds), %d PrivateMessages over %d epochs: no (epoch, sender, generation) or (key, nonce) repeated",
		crashes, resumed, r.log.Messages, len(r.log.epochs))
}

// runUntilCrash opens the store on faulty, loads alice's group, catches
// up and then sends (and sometimes commits, or has bob commit) until an
// operation fails. It returns that failure, or a check's failure.
func runUntilCrash(ctx context.Context, r *reuseRig, faulty *fsx.Faulty, so localstore.Options, opts engine.Options, rng *rand.Rand) error {
	st, _, err := localstore.Open(ctx, faulty, "/data", so)
	if err != nil {
		return err
	}
	defer st.Close()
	g, err := engine.LoadGroup(ctx, st, r.gid, opts)
	if err != nil {
		return err
	}
	if err := r.catchUp(ctx, g); err != nil {
		return err
	}
	if g.HasPendingCommit() {
		// A commit of alice's that bob never got.
		if err := g.ClearPendingCommit(ctx); err != nil {
			return err
		}
	}
	for {
		switch x := rng.IntN(20); {
		case x == 0:
			if err := r.bobCommits(ctx); err != nil {
				return fmt.Errorf("%w: bob commits: %w", errCheck, err)
			}
			if err := r.catchUp(ctx, g); err != nil {
				return err
			}
		case x == 1:
			out, err := g.Commit(ctx, engine.CommitOptions{SelfUpdate: true})
			if err != nil {
				return err
			}
			// Published: bob processes it, then alice merges it.
			if _, err := r.bg.Process(ctx, out.Commit); err != nil {
				return fmt.Errorf("%w: bob processes alice's commit: %w", errCheck, err)
			}
			r.commits = append(r.commits, out.Commit)
			r.epochs = append(r.epochs, g.Epoch())
			if err := r.log.Enter(ctx, r.bob.st, r.gid, r.bg.Epoch()); err != nil {
				return fmt.Errorf("%w: %w", errCheck, err)
			}
			if _, err := g.Process(ctx, out.Commit); err != nil {
				return err
			}
		default:
			r.sent++
			plain := fmt.Appendf(nil, "message %d", r.sent)
			msg, err := g.Encrypt(ctx, plain, nil)
			if err != nil {
				return err
			}
			if err := r.deliver(ctx, msg, plain); err != nil {
				return err
			}
		}
	}
}
