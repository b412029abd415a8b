package killcampaign

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/internal/agent"
	"github.com/mlsbackup/mlsbackup/internal/mlscrash"
)

// peer is an in-process member (engine on MemStorage) that never crashes.
type peer struct {
	name string
	st   *engine.MemStorage
	c    *engine.Client
	g    *engine.Group // nil while not a member
}

func newPeer(name string) *peer {
	st := engine.NewMemStorage()
	return &peer{name: name, st: st, c: engine.NewClient(st, []byte(name), engine.Options{})}
}

// keyPackage makes a KeyPackage of the agent's default suite.
func (p *peer) keyPackage(ctx context.Context) ([]byte, error) {
	return p.c.CreateKeyPackage(ctx, suite.ID(agent.DefaultCipherSuite), false)
}

// world is the group around alice (the agent under test) and the delivery
// service: bob and carol stay members, dave is added and removed. Every
// PrivateMessage alice emits goes through the nonce log.
type world struct {
	gid              []byte
	bob, carol, dave *peer
	nonces           *mlscrash.NonceLog
	observed         map[[32]byte]bool // alice's PrivateMessages observed
	delivered        map[[32]byte]bool // messages from alice delivered
	forkChecks       int
}

func newWorld(gid []byte) *world {
	return &world{gid: gid, bob: newPeer("bob"), carol: newPeer("carol"), dave: newPeer("dave"),
		nonces: mlscrash.NewNonceLog(), observed: map[[32]byte]bool{}, delivered: map[[32]byte]bool{}}
}

// members returns the peers in the group.
func (w *world) members() []*peer {
	var out []*peer
	for _, p := range []*peer{w.bob, w.carol, w.dave} {
		if p.g != nil {
			out = append(out, p)
		}
	}
	return out
}

// entered tells the nonce log that bob is in a new epoch, before he uses
// any of its keys.
func (w *world) entered(ctx context.Context) error {
	return w.nonces.Enter(ctx, w.bob.st, w.gid, w.bob.g.Epoch())
}

// firstDelivery reports whether msg has not been delivered before (the
// delivery service deduplicates).
func (w *world) firstDelivery(msg []byte) bool {
	h := sha256.Sum256(msg)
	if w.delivered[h] {
		return false
	}
	w.delivered[h] = true
	return true
}

// aliceMessage delivers alice's PrivateMessage to every peer, which must
// decrypt data, and records its key and nonce: a repeat of either, or of
// the sender generation, fails.
func (w *world) aliceMessage(ctx context.Context, msg, data []byte) error {
	if !w.firstDelivery(msg) {
		return nil
	}
	if err := w.observe(msg); err != nil {
		return err
	}
	for _, p := range w.members() {
		res, err := p.g.Process(ctx, msg)
		if err != nil {
			return fmt.Errorf("%s: process alice's message: %w", p.name, err)
		}
		if res.Kind != engine.ContentApplication || !bytes.Equal(res.ApplicationData, data) {
			return fmt.Errorf("%s: alice's message carried kind %d %q, want %q", p.name, res.Kind, res.ApplicationData, data)
		}
	}
	return nil
}

// observe puts one of alice's PrivateMessages into the nonce log (once
// per distinct message).
func (w *world) observe(msg []byte) error {
	h := sha256.Sum256(msg)
	if w.observed[h] {
		return nil
	}
	w.observed[h] = true
	if _, _, err := w.nonces.Observe(msg); err != nil {
		return fmt.Errorf("alice's message: %w", err)
	}
	return nil
}

// aliceCommit delivers alice's commit to every peer (and the Welcome, if
// any, to dave, who must have made the KeyPackage it uses).
func (w *world) aliceCommit(ctx context.Context, commit, welcome []byte) error {
	if !w.firstDelivery(commit) {
		return nil
	}
	for _, p := range w.members() {
		res, err := p.g.Process(ctx, commit)
		if err != nil {
			return fmt.Errorf("%s: process alice's commit: %w", p.name, err)
		}
		if res.Kind != engine.ContentCommit {
			return fmt.Errorf("%s: alice's commit processed as kind %d", p.name, res.Kind)
		}
		if res.Commit != nil && res.Commit.SelfRemoved {
			p.g = nil
		}
	}
	if err := w.entered(ctx); err != nil {
		return err
	}
	if len(welcome) > 0 {
		g, err := w.dave.c.JoinFromWelcome(ctx, welcome, nil)
		if err != nil {
			return fmt.Errorf("dave: join from alice's welcome: %w", err)
		}
		w.dave.g = g
	}
	return nil
}

// peerCommit makes bob commit a self-update, merged at once, and delivers
// it to the other peers; alice gets it from the caller.
func (w *world) peerCommit(ctx context.Context) ([]byte, error) {
	out, err := w.bob.g.Commit(ctx, engine.CommitOptions{SelfUpdate: true, Merge: true})
	if err != nil {
		return nil, fmt.Errorf("bob: commit: %w", err)
	}
	for _, p := range w.members() {
		if p == w.bob {
			continue
		}
		if _, err := p.g.Process(ctx, out.Commit); err != nil {
			return nil, fmt.Errorf("%s: process bob's commit: %w", p.name, err)
		}
	}
	return out.Commit, w.entered(ctx)
}

// errFork reports members that disagree on the group state.
var errFork = errors.New("fork")

// checkFork compares alice's view with every peer's: same epoch, same
// epoch authenticator, and alice has no pending commit.
func (w *world) checkFork(info agent.GroupInfo) error {
	w.forkChecks++
	for _, p := range w.members() {
		if p.g.Epoch() != info.Epoch || hex.EncodeToString(p.g.EpochAuthenticator()) != info.EpochAuthenticator {
			return fmt.Errorf("%w: alice at epoch %d (%s), %s at epoch %d (%x)", errFork, info.Epoch, info.EpochAuthenticator,
				p.name, p.g.Epoch(), p.g.EpochAuthenticator())
		}
	}
	return nil
}
