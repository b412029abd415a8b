package localstore_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/localstore"
	"github.com/mlsbackup/mlsbackup/localstore/crashtest"
)

const mlsSuite = suite.X25519AES128GCMSHA256Ed25519

// mlsWorkload runs MLS groups between Alice (whose state is on the store
// under test) and Bob (in memory), with Carol joining and leaving each:
// application messages both ways, self-updates both ways, adds with
// Welcomes and removes. A commit is delivered only after its sender has
// merged it durably, as an application must.
type mlsWorkload struct {
	ops    int
	groups int
	rng    *rand.Rand

	alice *engine.Client
	bobSt *engine.MemStorage
	bob   *engine.Client
	pairs []*mlsPair // groups Bob has joined
	cur   *mlsPair   // the group of the operation in progress
}

// mlsPair is one group as Alice and Bob see it.
type mlsPair struct {
	gid       []byte
	ga, gb    *engine.Group
	carol     *engine.Client
	carolLeaf uint32
	carolIn   bool

	alicePending []byte // Alice's commit returned by Commit, not yet merged
	lastAlice    []byte // Alice's last merged commit
	lastBob      []byte // Bob's last merged commit
}

var _ crashtest.Workload = (*mlsWorkload)(nil)

func (w *mlsWorkload) Run(ctx context.Context, t crashtest.Target) error {
	w.rng = rand.New(rand.NewPCG(7, 7))
	w.alice = engine.NewClient(t, []byte("alice"), engine.Options{})
	w.bobSt = engine.NewMemStorage()
	w.bob = engine.NewClient(w.bobSt, []byte("bob"), engine.Options{})
	for range w.groups {
		ga, err := w.alice.CreateGroup(ctx, mlsSuite, nil)
		if err != nil {
			return err
		}
		p := &mlsPair{gid: ga.GroupID(), ga: ga}
		kp, err := w.bob.CreateKeyPackage(ctx, mlsSuite, false)
		if err != nil {
			return err
		}
		out, err := p.aliceCommit(ctx, engine.CommitOptions{Add: [][]byte{kp}})
		if err != nil {
			return err
		}
		if p.gb, err = w.bob.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
			return err
		}
		w.pairs = append(w.pairs, p)
	}
	for i := range w.ops {
		w.cur = w.pairs[w.rng.IntN(len(w.pairs))]
		if err := w.step(ctx, w.cur, i); err != nil {
			return fmt.Errorf("op %d: %w", i, err)
		}
	}
	return nil
}

// aliceCommit has Alice commit and merge, then delivers the commit to Bob.
func (p *mlsPair) aliceCommit(ctx context.Context, o engine.CommitOptions) (*engine.CommitOutput, error) {
	out, err := p.ga.Commit(ctx, o)
	if err != nil {
		return nil, err
	}
	p.alicePending = out.Commit
	if _, err := p.ga.MergePendingCommit(ctx); err != nil {
		return nil, err
	}
	p.lastAlice, p.alicePending = out.Commit, nil
	if p.gb != nil {
		if _, err := p.gb.Process(ctx, out.Commit); err != nil {
			return nil, fmt.Errorf("bob processes alice's commit: %w", err)
		}
	}
	return out, nil
}

func send(ctx context.Context, from, to *engine.Group, text string) error {
	ct, err := from.Encrypt(ctx, []byte(text), nil)
	if err != nil {
		return err
	}
	r, err := to.Process(ctx, ct)
	if err != nil {
		return err
	}
	if string(r.ApplicationData) != text {
		return fmt.Errorf("received %q, want %q", r.ApplicationData, text)
	}
	return nil
}

func (w *mlsWorkload) step(ctx context.Context, p *mlsPair, i int) error {
	switch r := w.rng.IntN(100); {
	case r < 35:
		return send(ctx, p.ga, p.gb, fmt.Sprint("from alice ", i))
	case r < 55:
		return send(ctx, p.gb, p.ga, fmt.Sprint("from bob ", i))
	case r < 70:
		_, err := p.aliceCommit(ctx, engine.CommitOptions{SelfUpdate: true})
		return err
	case r < 85:
		out, err := p.gb.Commit(ctx, engine.CommitOptions{SelfUpdate: true})
		if err != nil {
			return err
		}
		if _, err := p.gb.MergePendingCommit(ctx); err != nil {
			return err
		}
		p.lastBob = out.Commit
		_, err = p.ga.Process(ctx, out.Commit)
		return err
	case !p.carolIn:
		// A fresh Carol each time: a removed member's old state stays behind.
		p.carol = engine.NewClient(engine.NewMemStorage(), []byte("carol"), engine.Options{})
		kp, err := p.carol.CreateKeyPackage(ctx, mlsSuite, false)
		if err != nil {
			return err
		}
		out, err := p.aliceCommit(ctx, engine.CommitOptions{Add: [][]byte{kp}})
		if err != nil {
			return err
		}
		gc, err := p.carol.JoinFromWelcome(ctx, out.Welcome, nil)
		if err != nil {
			return err
		}
		p.carolLeaf, p.carolIn = gc.OwnIndex(), true
		return nil
	default:
		_, err := p.aliceCommit(ctx, engine.CommitOptions{Remove: []uint32{p.carolLeaf}})
		p.carolIn = false
		return err
	}
}

// cloneMem copies an in-memory store.
func cloneMem(ctx context.Context, m *engine.MemStorage) (*engine.MemStorage, error) {
	b := &engine.Batch{Op: "Clone"}
	for k, v := range m.Dump() {
		parts := strings.SplitN(k, "/", 3)
		g, err := hex.DecodeString(parts[0])
		if err != nil || len(parts) != 3 {
			return nil, fmt.Errorf("bad key %q", k)
		}
		b.Puts = append(b.Puts, engine.Put{Key: engine.Key{Group: g, Kind: engine.Kind(parts[1]), Name: parts[2]}, Value: v})
	}
	c := engine.NewMemStorage()
	return c, c.Apply(ctx, b)
}

// Continue checks the group the crash hit (the whole store's state is
// already compared with the model): it loads Alice from the recovered
// store and a copy of Bob, brings the one that is an epoch
// behind up to date by delivering the commit it missed (an
// un-acknowledged one may have survived), checks that their epoch
// authenticators agree, has both encrypt in the recovered epoch, then
// commit and talk once more.
func (w *mlsWorkload) Continue(ctx context.Context, st *localstore.Store) error {
	if len(w.pairs) == 0 {
		// Crashed before Bob joined: a fresh group must work.
		g, err := engine.NewClient(st, []byte("alice"), engine.Options{}).CreateGroup(ctx, mlsSuite, nil)
		if err != nil {
			return err
		}
		_, err = g.Commit(ctx, engine.CommitOptions{SelfUpdate: true})
		return err
	}
	bst, err := cloneMem(ctx, w.bobSt)
	if err != nil {
		return err
	}
	p := w.cur
	if p == nil {
		p = w.pairs[len(w.pairs)-1]
	}
	return p.cont(ctx, st, bst)
}

func (p *mlsPair) cont(ctx context.Context, st *localstore.Store, bst *engine.MemStorage) error {
	ga, err := engine.LoadGroup(ctx, st, p.gid, engine.Options{})
	if err != nil {
		return fmt.Errorf("load alice: %w", err)
	}
	gb, err := engine.LoadGroup(ctx, bst, p.gid, engine.Options{})
	if err != nil {
		return fmt.Errorf("load bob: %w", err)
	}
	if ga.HasPendingCommit() {
		if p.alicePending != nil {
			_, err = ga.MergePendingCommit(ctx)
		} else {
			err = ga.ClearPendingCommit(ctx)
		}
		if err != nil {
			return fmt.Errorf("resolve pending commit: %w", err)
		}
	}
	switch {
	case ga.Epoch() == gb.Epoch()+1:
		missed := p.lastAlice
		if p.alicePending != nil {
			missed = p.alicePending
		}
		if _, err := gb.Process(ctx, missed); err != nil {
			return fmt.Errorf("bob catches up: %w", err)
		}
	case gb.Epoch() == ga.Epoch()+1:
		if _, err := ga.Process(ctx, p.lastBob); err != nil {
			return fmt.Errorf("alice catches up: %w", err)
		}
	case ga.Epoch() != gb.Epoch():
		return fmt.Errorf("alice at epoch %d, bob at %d", ga.Epoch(), gb.Epoch())
	}
	if !bytes.Equal(ga.EpochAuthenticator(), gb.EpochAuthenticator()) {
		return fmt.Errorf("epoch %d: authenticators differ", ga.Epoch())
	}
	// Encrypt again in the recovered epoch: Bob has consumed the key of
	// every generation Alice returned a ciphertext for before the crash, so
	// a reused generation (key and nonce) fails to decrypt here.
	if err := send(ctx, ga, gb, "right after recovery"); err != nil {
		return fmt.Errorf("send in the recovered epoch: %w", err)
	}
	if err := send(ctx, gb, ga, "bob after recovery"); err != nil {
		return fmt.Errorf("bob sends in the recovered epoch: %w", err)
	}
	out, err := ga.Commit(ctx, engine.CommitOptions{SelfUpdate: true})
	if err != nil {
		return err
	}
	if _, err := ga.MergePendingCommit(ctx); err != nil {
		return err
	}
	if _, err := gb.Process(ctx, out.Commit); err != nil {
		return err
	}
	if !bytes.Equal(ga.EpochAuthenticator(), gb.EpochAuthenticator()) {
		return errors.New("authenticators differ after a new commit")
	}
	return send(ctx, ga, gb, "after the crash")
}

func TestCrashInjectionMLS(t *testing.T) {
	ops := 240
	if testing.Short() {
		ops = 30
	}
	t.Parallel()
	cfg := crashtest.Config{
		NewWorkload: func() crashtest.Workload { return &mlsWorkload{ops: ops, groups: 3} },
		Mode:        fsx.PowerLoss,
		Options:     localstore.Options{SyncApply: true},
		// Every other operation: each point re-runs MLS cryptography to
		// continue the group; the synthetic workload covers every point.
		Every: 2,
	}
	start := time.Now()
	res, err := crashtest.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("MLS workload: %d crash points (%d fs ops, %d store operations; %d replayed, %d un-acked survived) in %v",
		res.CrashPoints, res.FSOps, res.Operations, res.Replayed, res.Unacked, time.Since(start).Round(time.Millisecond))
	if !testing.Short() && res.Operations < 200 {
		t.Fatalf("workload made %d store operations, want at least 200", res.Operations)
	}
}
