package mlscrash

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// TestRestoreFromRandomSnapshotsNeverReusesKeys is issue 12 (1)'s property
// test: a long random history of one group of 3 to 5 clients (sends,
// self-updates, adds of new clients, removes) in which members are
// snapshotted at random points and, at random points, a member loses its
// disk and is restored from a random one of its own earlier snapshots,
// then catches up on the commits it missed (re-joining by external commit
// with resync when it meets a commit its lost state made). A restored
// member keeps trying to send — every try must be refused with
// ErrRestoredEpoch — until it commits. A log of every (epoch, sender,
// generation) and (key, nonce) of every PrivateMessage any client
// produced, over all incarnations, must never see a repeat, and at the end
// all members agree on the epoch authenticator.
func TestRestoreFromRandomSnapshotsNeverReusesKeys(t *testing.T) {
	steps, seeds := 800, []uint64{1, 2, 3, 4, 5, 6}
	if testing.Short() {
		steps, seeds = 200, []uint64{1, 2}
	}
	for _, seed := range seeds {
		private := seed%2 == 0
		t.Run(fmt.Sprintf("seed=%d/private_handshake=%v", seed, private), func(t *testing.T) {
			r := newRestoreProp(t, seed, engine.Options{PrivateHandshake: private})
			for r.step = 1; r.step <= steps; r.step++ {
				r.randomStep()
			}
			r.finish()
			c := r.counts
			t.Logf("seed %d: %d steps, %d PrivateMessages logged (%d sent, %d sends refused while restored), %d commits (%d by restored members), "+
				"%d snapshots, %d restores, %d restarts, %d own pre-loss commits met, %d re-joins (%d where the restored leaf was stale), %d adds, %d removes, final epoch %d",
				seed, steps, r.app.Messages+r.hs.Messages, c.sends, c.refusals, c.commits, c.restoredCommits,
				c.snapshots, c.restores, c.restarts, c.ownCommits, c.rejoins, c.staleLeaf, c.adds, c.removes, r.live[0].g.Epoch())
			if c.restores == 0 || c.refusals == 0 || c.restoredCommits == 0 {
				t.Fatalf("seed %d: the history exercised too little: %+v", seed, c)
			}
		})
	}
}

// propMember is one incarnation of a client of the group.
type propMember struct {
	name string
	inc  int // incarnation: 0, then one more per disk loss
	st   *engine.MemStorage
	opts engine.Options
	g    *engine.Group
	// restored is the model: restored from a snapshot (restoredAt, from
	// its snapshot of epoch restoredFrom) and not yet merged a commit of
	// its own.
	restored                 bool
	restoredAt, restoredFrom uint64
}

// propCommit is one commit the delivery service accepted, in its order.
type propCommit struct {
	epoch    uint64 // the epoch the commit belongs to
	sender   string
	external bool
	msg      []byte
}

// propSnapshot is a snapshot of one client's group.
type propSnapshot struct {
	epoch uint64
	data  []byte
}

type propCounts struct {
	sends, refusals, accepted, commits, restoredCommits, snapshots, restores, restarts,
	ownCommits, rejoins, staleLeaf, adds, removes int
}

// restoreProp is the property test's world: the live members, the
// delivery service's commits, every snapshot taken, and the logs.
type restoreProp struct {
	t       *testing.T
	ctx     context.Context
	seed    uint64
	step    int
	rng     *rand.Rand
	opts    engine.Options
	gid     []byte
	live    []*propMember
	commits []propCommit
	snaps   map[string][]propSnapshot
	// app and hs log the application and handshake PrivateMessages; they
	// share the epochs they learned and the (key, nonce) set, and keep
	// (epoch, sender, generation) per ratchet.
	app, hs *NonceLog
	clients int
	counts  propCounts
	// reported lists the kinds of non-fatal failure reported once.
	reported map[string]bool
}

func newRestoreProp(t *testing.T, seed uint64, opts engine.Options) *restoreProp {
	r := &restoreProp{t: t, ctx: context.Background(), seed: seed, rng: rand.New(rand.NewPCG(seed, 12)), opts: opts,
		gid: []byte("restore-prop"), snaps: map[string][]propSnapshot{}, app: NewNonceLog(), hs: NewNonceLog(), reported: map[string]bool{}}
	r.hs.epochs, r.hs.keys = r.app.epochs, r.app.keys
	first := r.newClient()
	g, err := engine.NewClient(first.st, []byte(first.name), first.opts).CreateGroup(r.ctx, cs, r.gid)
	if err != nil {
		t.Fatal(err)
	}
	first.g = g
	r.live = []*propMember{first}
	r.enter(first)
	for range 2 {
		r.commit(first, "add")
	}
	return r
}

// fatalf fails the test with the seed and step.
func (r *restoreProp) fatalf(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("seed %d step %d: %s", r.seed, r.step, fmt.Sprintf(format, args...))
}

// errorOnce reports a failure of kind once and lets the run go on, so that
// the logs still judge what follows.
func (r *restoreProp) errorOnce(kind, format string, args ...any) {
	r.t.Helper()
	if !r.reported[kind] {
		r.reported[kind] = true
		r.t.Errorf("seed %d step %d: %s", r.seed, r.step, fmt.Sprintf(format, args...))
	}
}

// newClient returns a client that never was a member.
func (r *restoreProp) newClient() *propMember {
	m := &propMember{name: fmt.Sprintf("c%d", r.clients)}
	r.clients++
	r.reincarnate(m)
	return m
}

// reincarnate gives m an empty store and fresh, reproducible randomness.
func (r *restoreProp) reincarnate(m *propMember) {
	m.st, m.g = engine.NewMemStorage(), nil
	m.opts = seededOptions(r.opts, r.seed, fmt.Sprintf("%s#%d", m.name, m.inc))
	m.inc++
}

// enter lets the logs learn m's current epoch; m must have consumed no
// key of it yet.
func (r *restoreProp) enter(m *propMember) {
	r.t.Helper()
	if err := r.app.Enter(r.ctx, m.st, r.gid, m.g.Epoch()); err != nil {
		r.fatalf("%v", err)
	}
}

// observe logs msg if it is a PrivateMessage.
func (r *restoreProp) observe(m *propMember, msg []byte) error {
	pm, err := wire.ParseMLSMessage(msg, 0)
	if err != nil {
		return err
	}
	if pm.WireFormat != wire.WireFormatPrivateMessage {
		return nil
	}
	l := r.app
	if pm.PrivateMessage.ContentType != wire.ContentTypeApplication {
		l = r.hs
	}
	if _, _, err := l.Observe(msg); err != nil {
		return fmt.Errorf("%s (incarnation %d, restored %v at step %d from its snapshot of epoch %d): %w", m.name, m.inc, m.restored, m.restoredAt, m.restoredFrom, err)
	}
	return nil
}

func (r *restoreProp) randomStep() {
	m := r.live[r.rng.IntN(len(r.live))]
	switch x := r.rng.IntN(100); {
	case x < 50:
		r.send(m)
	case x < 65:
		r.commit(m, []string{"update", "update", "add", "remove"}[r.rng.IntN(4)])
	case x < 77:
		r.snapshot(m)
	case x < 85 && len(r.snaps[m.name]) > 0:
		r.loseDisk(m)
	case x < 90:
		r.restart(m)
	default:
		r.send(m)
	}
}

// send makes m encrypt a message and delivers it to every other member.
// A restored m must be refused.
func (r *restoreProp) send(m *propMember) {
	plain := fmt.Appendf(nil, "%s#%d step %d", m.name, m.inc, r.step)
	msg, err := m.g.Encrypt(r.ctx, plain, nil)
	switch {
	case m.restored && errors.Is(err, engine.ErrRestoredEpoch):
		r.counts.refusals++
		if !strings.Contains(err.Error(), "commit a self-update") {
			r.errorOnce("refusal hint", "%s's refusal does not say what to do: %v", m.name, err)
		}
		return
	case err != nil:
		r.fatalf("%s (restored %v) encrypts in epoch %d: %v", m.name, m.restored, m.g.Epoch(), err)
	case m.restored:
		// The model follows the engine from here; the logs judge the
		// message.
		r.acceptedWhileRestored(m, msg)
		m.restored = false
	}
	if err := r.observe(m, msg); err != nil {
		r.fatalf("%v", err)
	}
	r.counts.sends++
	for _, o := range r.live {
		if o == m {
			continue
		}
		res, err := o.g.Process(r.ctx, msg)
		if err != nil || string(res.ApplicationData) != string(plain) {
			r.fatalf("%s processes %s's message: %v", o.name, m.name, err)
		}
	}
}

// tryWhileRestored makes the restored m, which may not have caught up
// yet, try to send: it must be refused.
func (r *restoreProp) tryWhileRestored(m *propMember) {
	msg, err := m.g.Encrypt(r.ctx, []byte("too early"), nil)
	switch {
	case errors.Is(err, engine.ErrRestoredEpoch):
		r.counts.refusals++
	case err != nil:
		r.fatalf("restored %s encrypts in epoch %d: %v", m.name, m.g.Epoch(), err)
	default:
		r.acceptedWhileRestored(m, msg)
	}
}

// acceptedWhileRestored reports a message the restored m should not have
// been able to encrypt; the logs say whether it reused a key and nonce.
func (r *restoreProp) acceptedWhileRestored(m *propMember, msg []byte) {
	r.counts.accepted++
	r.errorOnce("accepted", "%s restored at step %d from its snapshot of epoch %d sent in epoch %d; want ErrRestoredEpoch",
		m.name, m.restoredAt, m.restoredFrom, m.g.Epoch())
	if err := r.observe(m, msg); err != nil {
		r.fatalf("%v", err)
	}
}

// commit makes m commit kind ("update", "add" of a new client, "remove" of
// another member), merges it and delivers it.
func (r *restoreProp) commit(m *propMember, kind string) {
	var o engine.CommitOptions
	var added *propMember
	removed := ""
	switch {
	case kind == "add" && len(r.live) < 5:
		added = r.newClient()
		kp, err := engine.NewClient(added.st, []byte(added.name), added.opts).CreateKeyPackage(r.ctx, cs, false)
		if err != nil {
			r.fatalf("key package: %v", err)
		}
		o.Add = [][]byte{kp}
		r.counts.adds++
	case kind == "remove" && len(r.live) > 3:
		others := slices.DeleteFunc(slices.Clone(r.live), func(x *propMember) bool { return x == m })
		victim := others[r.rng.IntN(len(others))]
		leaf, err := leafOf(m.g, victim.name)
		if err != nil {
			r.fatalf("%v", err)
		}
		o.Remove, removed = []uint32{leaf}, victim.name
		r.counts.removes++
	default:
		o.SelfUpdate = true
	}
	epoch := m.g.Epoch()
	out, err := m.g.Commit(r.ctx, o)
	if err != nil {
		r.fatalf("%s commits %s: %v", m.name, kind, err)
	}
	if m.g.Restored() {
		checkRestoredCommitMsg(r, out.Commit)
		r.counts.restoredCommits++
	}
	if _, err := m.g.MergePendingCommit(r.ctx); err != nil {
		r.fatalf("%s merges: %v", m.name, err)
	}
	if m.g.Restored() {
		r.fatalf("%s is still restored after merging its own commit", m.name)
	}
	m.restored = false
	r.enter(m)
	if err := r.observe(m, out.Commit); err != nil {
		r.fatalf("%v", err)
	}
	r.counts.commits++
	r.publish(m, propCommit{epoch: epoch, sender: m.name, msg: out.Commit}, removed)
	if added != nil {
		g, err := engine.NewClient(added.st, []byte(added.name), added.opts).JoinFromWelcome(r.ctx, out.Welcome, nil)
		if err != nil {
			r.fatalf("%s joins: %v", added.name, err)
		}
		added.g = g
		r.live = append(r.live, added)
	}
}

// publish records commit c of from and makes every other live member
// process it; the member named removed leaves.
func (r *restoreProp) publish(from *propMember, c propCommit, removed string) {
	r.commits = append(r.commits, c)
	for _, o := range slices.Clone(r.live) {
		if o == from {
			continue
		}
		res, err := o.g.Process(r.ctx, c.msg)
		if err != nil || res.Commit == nil {
			r.fatalf("%s processes %s's commit of epoch %d: %v", o.name, from.name, c.epoch, err)
		}
		if res.Commit.SelfRemoved != (o.name == removed) {
			r.fatalf("%s processes %s's commit: self removed %v, want %v", o.name, from.name, res.Commit.SelfRemoved, o.name == removed)
		}
		if o.name == removed {
			r.live = slices.DeleteFunc(r.live, func(x *propMember) bool { return x == o })
		}
	}
}

// snapshot keeps a snapshot of m's group.
func (r *restoreProp) snapshot(m *propMember) {
	data, info, err := engine.ExportSnapshot(r.ctx, m.st, r.gid)
	if err != nil {
		r.fatalf("snapshot of %s: %v", m.name, err)
	}
	r.snaps[m.name] = append(r.snaps[m.name], propSnapshot{epoch: info.Epoch, data: data})
	r.counts.snapshots++
}

// restart reloads m's group from its store, as a restarted process does.
func (r *restoreProp) restart(m *propMember) {
	g, err := engine.LoadGroup(r.ctx, m.st, r.gid, m.opts)
	if err != nil {
		r.fatalf("reload %s: %v", m.name, err)
	}
	if g.Restored() != m.restored {
		r.fatalf("%s reloaded: restored %v, want %v", m.name, g.Restored(), m.restored)
	}
	m.g = g
	r.counts.restarts++
}
