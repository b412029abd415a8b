package agent

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/config"
)

// TestForwardSecrecyAtRest is issue 18's proof: a long random history of
// one group over four agents (sends nobody receives for a while, receives,
// self-updates, removals and re-adds, restarts, snapshots on request,
// every 3 epochs and before removals, each kept locally and uploaded)
// and, after every step and a Flush of every store, a search of every
// byte of each member's data directory (component files, write-ahead log),
// local snapshot files and decrypted remote snapshots for every secret
// that member's steps made unusable: the key, nonce, ratchet secrets, leaf
// and node secrets a message it sent or received was derived from (RFC
// 9420 §9.2); every secret of an epoch it no longer keeps (retention, or
// the group deleted when it was removed); an epoch's init, exporter and
// other current-only secrets once it left the epoch; replaced HPKE private
// keys. The secrets are known to the test's oracle from all members'
// stored records (see fsrest_oracle_test.go). Data directory and log must
// hold none of them. A snapshot is a copy of its member's state when it
// was cut: it must hold nothing that was unusable then, nor anything that
// gives the key of a message its member sent (before or after the cut); a
// local one must not outlive its epoch or its group, and remote ones are
// backups whose lifetime the retention bounds
// (TestRetentionMaxAgeBoundsBackups). Run with the engine's generation
// lease at its default and at 1.
func TestForwardSecrecyAtRest(t *testing.T) {
	steps := 160
	if testing.Short() {
		steps = 50
	}
	for _, lease := range []uint32{0, 1} {
		name := "lease=default"
		if lease != 0 {
			name = fmt.Sprintf("lease=%d", lease)
		}
		t.Run(name, func(t *testing.T) { newFSHistory(t, lease, 18).run(steps) })
	}
}

// fsEntry is one message in a member's inbox.
type fsEntry struct {
	msg  []byte
	kind string // "application", "commit" or "welcome"
	// epoch is the epoch an application message was sent in.
	epoch uint64
}

// fsMember is one member of the history and what the test knows of it.
type fsMember struct {
	name  string
	ta    *testAgent
	inbox []fsEntry
	// in: the member's agent holds the group; leaving: a commit removing
	// it waits in its inbox; joining: a Welcome does.
	in, leaving, joining bool
	joinedAt             uint64
	epoch                uint64
	// since maps each unusable secret (hex) to the step it became so.
	since map[string]fsForbidden
	// stored maps the epochs of its records to the step they appeared;
	// gone and left to the step they were deleted and the step the member
	// moved past them.
	stored, gone, left map[uint64]int
	// keys maps its HPKE private keys (hex) to -1 while held, then to the
	// step they were replaced.
	keys map[string]int
	used []fsUsed
	// seen maps a snapshot (local file path and digest, or remote key) to
	// the step it first appeared and its bytes.
	seen map[string]*fsSnapshot
}

type fsForbidden struct {
	step int
	what string
	// own: it gives the key of a message the member sent, which no
	// snapshot may hold, whenever it was cut.
	own bool
}

type fsUsed struct {
	epoch uint64
	id    ratchetID
	gen   uint32
	step  int
	own   bool
}

type fsSnapshot struct {
	step int
	data []byte
}

// fsHistory is the state of one run.
type fsHistory struct {
	t       *testing.T
	ctx     context.Context
	rng     *rand.Rand
	gid     []byte
	gh      string
	o       *oracle
	members []*fsMember
	// group is the membership after the newest commit.
	group map[string]bool
	step  int
	// sent guards against a generation used twice.
	sent   map[[3]uint64]bool
	counts map[string]int
}

// fsRetention is store.epoch_retention in the history (past epochs kept).
const fsRetention = 3

func newFSHistory(t *testing.T, lease uint32, seed uint64) *fsHistory {
	h := &fsHistory{t: t, ctx: context.Background(), rng: rand.New(rand.NewPCG(seed, uint64(lease))), gid: []byte("fs-at-rest"),
		o: newOracle(t), group: map[string]bool{}, sent: map[[3]uint64]bool{}, counts: map[string]int{}}
	h.gh = hex.EncodeToString(h.gid)
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		ta := newTestAgent(t, agentOpts{identity: name, everyEpochs: 3, beforeRemove: true, leaseBlock: lease,
			edit: func(c *config.Config) { c.Store.EpochRetention = fsRetention }})
		h.members = append(h.members, &fsMember{name: name, ta: ta, since: map[string]fsForbidden{},
			stored: map[uint64]int{}, gone: map[uint64]int{}, left: map[uint64]int{}, keys: map[string]int{}, seen: map[string]*fsSnapshot{}})
	}
	alice := h.members[0]
	if _, err := alice.ta.c.Create(h.ctx, CreateRequest{Name: string(h.gid)}); err != nil {
		t.Fatal(err)
	}
	alice.in, h.group["alice"] = true, true
	h.check()
	for _, m := range h.members[1:] {
		h.add(m)
	}
	return h
}

// run plays steps random steps, drains every inbox and logs what was
// checked.
func (h *fsHistory) run(steps int) {
	for range steps {
		h.step++
		h.randomStep()
		h.check()
	}
	for _, m := range h.members {
		for len(m.inbox) > 0 {
			h.step++
			h.receive(m)
			h.check()
		}
	}
	checked, unknown := 0, 0
	for _, ek := range h.o.epochs {
		checked += ek.checked
	}
	if checked == 0 {
		h.t.Fatal("the oracle never compared a derivation with a stored value")
	}
	secrets := 0
	for _, m := range h.members {
		secrets += len(m.since)
		for _, u := range m.used {
			if _, ok := h.o.epochs[u.epoch].ancestors(u.id, u.gen); !ok {
				unknown++
			}
		}
	}
	if unknown > 0 {
		h.t.Errorf("the oracle could not derive %d of the keys used", unknown)
	}
	h.t.Logf("%d steps: %v; %d unusable secrets checked after every step (%d derivations confirmed by stored values); 0 found", h.step, h.counts, secrets, checked)
}

// randomStep plays one step: a send (30%), a receive (30%), a
// self-update (17%), a removal (3%), an add (4%), a restart (6%) or a
// snapshot on request (10%), by a random member that can make it; a member
// that is to commit but has commits to process processes one instead.
func (h *fsHistory) randomStep() {
	alice := h.members[0]
	for {
		m := h.members[h.rng.IntN(len(h.members))]
		switch r := h.rng.IntN(100); {
		case r < 30:
			if !m.in || m.leaving {
				continue
			}
			h.send(m)
		case r < 60:
			if len(m.inbox) == 0 {
				continue
			}
			h.receive(m)
		case r < 77:
			if h.catchUp(m) {
				return
			}
			if !h.current(m) {
				continue
			}
			h.commit(m)
		case r < 80:
			x := h.pick(func(x *fsMember) bool { return x != alice && h.group[x.name] })
			if len(h.group) < 3 || x == nil || h.catchUp(alice) {
				continue
			}
			h.remove(x)
		case r < 84:
			x := h.pick(func(x *fsMember) bool { return !x.in && !x.joining && len(x.inbox) == 0 })
			if x == nil || h.catchUp(alice) {
				continue
			}
			h.add(x)
		case r < 90:
			h.counts["restarts"]++
			m.ta.stop()
			m.ta.start(0)
		default:
			if !m.in || m.leaving {
				continue
			}
			h.counts["snapshots on request"]++
			if _, err := m.ta.c.Snapshot(h.ctx, h.gid); err != nil {
				h.t.Fatalf("step %d: %s snapshots: %v", h.step, m.name, err)
			}
		}
		return
	}
}

// catchUp makes m, which is to commit, process its next message if it
// has commits to process, and reports whether it did.
func (h *fsHistory) catchUp(m *fsMember) bool {
	if !m.in || m.leaving || h.current(m) || len(m.inbox) == 0 {
		return false
	}
	h.receive(m)
	return true
}

// current reports whether m holds the group at its newest epoch.
func (h *fsHistory) current(m *fsMember) bool {
	if !m.in || m.leaving {
		return false
	}
	for _, e := range m.inbox {
		if e.kind != "application" {
			return false
		}
	}
	return true
}

// pick returns a random member for which ok holds, or nil.
func (h *fsHistory) pick(ok func(*fsMember) bool) *fsMember {
	var c []*fsMember
	for _, m := range h.members {
		if ok(m) {
			c = append(c, m)
		}
	}
	if len(c) == 0 {
		return nil
	}
	return c[h.rng.IntN(len(c))]
}

// send makes m send an application message to the group's members.
func (h *fsHistory) send(m *fsMember) {
	h.counts["sends"]++
	resp, err := m.ta.c.Send(h.ctx, h.gid, SendRequest{Text: fmt.Sprintf("step %d", h.step)})
	if err != nil {
		h.t.Fatalf("step %d: %s sends: %v", h.step, m.name, err)
	}
	h.learn(m) // the epoch's sender-data secret
	e, leaf, gen := h.o.sentKey(resp.Message)
	k := [3]uint64{e, uint64(leaf), uint64(gen)}
	if h.sent[k] {
		h.t.Fatalf("step %d: %s used generation %d of epoch %d twice", h.step, m.name, gen, e)
	}
	h.sent[k] = true
	h.use(m, resp.Message, true)
	for _, x := range h.members {
		if x != m && (h.group[x.name] || x.leaving) && x.joinedAt <= e && (x.in || x.joining) {
			x.inbox = append(x.inbox, fsEntry{msg: resp.Message, kind: "application", epoch: e})
		}
	}
}

// use records the key of msg as used by m, which sent it if own.
func (h *fsHistory) use(m *fsMember, msg []byte, own bool) {
	e, leaf, gen := h.o.sentKey(msg)
	m.used = append(m.used, fsUsed{epoch: e, id: ratchetID{leaf: leaf, ct: 1}, gen: gen, step: h.step, own: own})
	h.o.epochs[e].maxGen = max(h.o.epochs[e].maxGen, gen)
}

// receive makes m process the first message of its inbox.
func (h *fsHistory) receive(m *fsMember) {
	in := m.inbox[0]
	m.inbox = m.inbox[1:]
	resp, err := m.ta.c.Receive(h.ctx, ReceiveRequest{Message: in.msg})
	switch in.kind {
	case "application":
		var ae *APIError
		if errors.As(err, &ae) && ae.Code == "wrong_epoch" && in.epoch+fsRetention < m.epoch {
			h.counts["receives too late"]++
			return
		}
		if err != nil {
			h.t.Fatalf("step %d: %s receives a message of epoch %d (at epoch %d): %v", h.step, m.name, in.epoch, m.epoch, err)
		}
		h.counts["receives"]++
		h.use(m, in.msg, false)
	case "welcome":
		if err != nil {
			h.t.Fatalf("step %d: %s joins: %v", h.step, m.name, err)
		}
		m.in, m.joining = true, false
	case "commit":
		if err != nil || resp.Commit == nil {
			h.t.Fatalf("step %d: %s processes a commit: %+v, %v", h.step, m.name, resp, err)
		}
		if resp.Commit.SelfRemoved {
			h.counts["removals processed"]++
			m.in, m.leaving, m.inbox = false, false, nil
		}
	}
}

// commit makes m commit a self-update.
func (h *fsHistory) commit(m *fsMember) {
	h.counts["self-updates"]++
	c, err := m.ta.c.Update(h.ctx, h.gid, UpdateRequest{})
	if err != nil {
		h.t.Fatalf("step %d: %s commits: %v", h.step, m.name, err)
	}
	h.deliverCommit(m, c.Commit)
}

// deliverCommit queues from's commit for the group's other members.
func (h *fsHistory) deliverCommit(from *fsMember, commit []byte) {
	for _, x := range h.members {
		if x != from && (h.group[x.name] || x.leaving) && (x.in || x.joining) {
			x.inbox = append(x.inbox, fsEntry{msg: commit, kind: "commit"})
		}
	}
}

// remove makes alice remove x (after the removal snapshot).
func (h *fsHistory) remove(x *fsMember) {
	h.counts["removals"]++
	c, err := h.members[0].ta.c.Remove(h.ctx, h.gid, RemoveRequest{Members: []string{x.name}})
	if err != nil {
		h.t.Fatalf("step %d: alice removes %s: %v", h.step, x.name, err)
	}
	delete(h.group, x.name)
	if x.in || x.joining {
		x.leaving = x.in
		h.deliverCommit(h.members[0], c.Commit)
	}
	if x.joining { // never joined: its Welcome is void
		x.joining, x.inbox = false, nil
		x.leaving = false
	}
}

// add makes alice add x with a fresh KeyPackage.
func (h *fsHistory) add(x *fsMember) {
	h.counts["adds"]++
	kp, err := x.ta.c.KeyPackage(h.ctx, KeyPackageRequest{})
	if err != nil {
		h.t.Fatal(err)
	}
	c, err := h.members[0].ta.c.Add(h.ctx, h.gid, AddRequest{KeyPackages: [][]byte{kp}})
	if err != nil {
		h.t.Fatalf("step %d: alice adds %s: %v", h.step, x.name, err)
	}
	h.deliverCommit(h.members[0], c.Commit)
	h.group[x.name] = true
	x.joining, x.joinedAt = true, c.Epoch
	x.inbox = append(x.inbox, fsEntry{msg: c.Welcome, kind: "welcome"})
}

// learn reads m's stored components into the oracle and updates what the
// test knows of m: its epochs and keys, and since when each secret it no
// longer keeps is unusable.
func (h *fsHistory) learn(m *fsMember) {
	comps, err := m.ta.a.Store().Dump(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	current, keys, ok := h.o.learn(h.gh, comps)
	epochs := map[uint64]bool{}
	for k := range comps {
		if name, found := strings.CutPrefix(k, h.gh+"/epoch_secrets/epoch_"); found {
			var e uint64
			if _, err := fmt.Sscanf(name, "%d.bin", &e); err == nil {
				epochs[e] = true
			}
		}
	}
	if len(epochs) > fsRetention+1 {
		h.t.Fatalf("step %d: %s keeps %d epochs, retention is %d past ones", h.step, m.name, len(epochs), fsRetention)
	}
	for e := range epochs {
		if _, seen := m.stored[e]; !seen {
			m.stored[e] = h.step
			delete(m.gone, e)
			delete(m.left, e)
		}
	}
	for e := range m.stored {
		if _, g := m.gone[e]; !epochs[e] && !g {
			m.gone[e] = h.step
		}
		if _, l := m.left[e]; (!ok || e < current) && !l {
			m.left[e] = h.step
		}
	}
	if ok {
		m.epoch = current
	}
	held := map[string]bool{}
	for _, k := range keys {
		held[hex.EncodeToString(k)] = true
		if _, seen := m.keys[hex.EncodeToString(k)]; !seen {
			m.keys[hex.EncodeToString(k)] = -1
		}
	}
	for k, s := range m.keys {
		if s < 0 && !held[k] {
			m.keys[k] = h.step
		}
	}
}

// forbid records that v is unusable for m since step (and, if own, that
// it gives the key of a message m sent).
func (m *fsMember) forbid(v []byte, step int, what string, own bool) {
	k := hex.EncodeToString(v)
	f, ok := m.since[k]
	if !ok || step < f.step {
		f.step, f.what = step, what
	}
	f.own = f.own || own
	m.since[k] = f
}

// check flushes every store, then searches each member's files and
// snapshots for what its steps made unusable.
func (h *fsHistory) check() {
	for _, m := range h.members {
		m.ta.idle()
		if err := m.ta.a.Store().Flush(h.ctx); err != nil {
			h.t.Fatal(err)
		}
	}
	for _, m := range h.members {
		h.learn(m)
	}
	for _, m := range h.members {
		h.forbidden(m)
		h.search(m)
	}
}

// forbidden recomputes what is unusable for m with what the oracle knows.
func (h *fsHistory) forbidden(m *fsMember) {
	for _, u := range m.used {
		vs, _ := h.o.epochs[u.epoch].ancestors(u.id, u.gen)
		for _, v := range vs {
			m.forbid(v, u.step, fmt.Sprintf("a secret of the key of epoch %d leaf %d generation %d, used at step %d", u.epoch, u.id.leaf, u.gen, u.step), u.own)
		}
	}
	for e, s := range m.gone {
		for _, v := range h.o.epochs[e].everything() {
			m.forbid(v, s, fmt.Sprintf("a secret of epoch %d, deleted at step %d", e, s), false)
		}
	}
	for e, s := range m.left {
		for _, v := range h.o.epochs[e].once {
			m.forbid(v, s, fmt.Sprintf("a current-only secret of epoch %d, left at step %d", e, s), false)
		}
	}
	for k, s := range m.keys {
		if s >= 0 {
			v, _ := hex.DecodeString(k)
			m.forbid(v, s, fmt.Sprintf("an HPKE private key replaced at step %d", s), false)
		}
	}
}

// search fails if m's data directory holds an unusable secret, a local
// snapshot outlives its epoch or group, or a snapshot holds a secret that
// was unusable when it was cut.
func (h *fsHistory) search(m *fsMember) {
	ns := newNeedles()
	for k, f := range m.since {
		v, _ := hex.DecodeString(k)
		ns.add(v, f)
	}
	dir := m.ta.cfg.DataDir
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if filepath.Base(filepath.Dir(p)) == "snapshots" {
			h.localSnapshot(m, rel, b)
			h.searchSnapshot(m, ns, "local snapshot "+rel, rel+"@"+hex.EncodeToString(sha256Sum(b)), b)
			return nil
		}
		if what := ns.find(b, func(f fsForbidden) bool { return f.step <= h.step }); what != "" {
			h.t.Fatalf("step %d: %s's %s holds %s", h.step, m.name, rel, what)
		}
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	b := m.ta.backup()
	ms, err := b.List(h.ctx, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, man := range ms {
		var data []byte
		if s, ok := m.seen[man.Key]; ok {
			data = s.data
		} else {
			var buf strings.Builder
			if err := b.Fetch(h.ctx, man, &buf); err != nil {
				h.t.Fatal(err)
			}
			data = []byte(buf.String())
			h.counts["remote snapshots"]++
		}
		h.searchSnapshot(m, ns, fmt.Sprintf("remote snapshot of epoch %d", man.Epoch), man.Key, data)
	}
}

// searchSnapshot fails if a snapshot (first seen after this step, or the
// step recorded) holds a secret that was unusable before it was cut, or
// one that gives the key of a message its member sent.
func (h *fsHistory) searchSnapshot(m *fsMember, ns *needles, name, key string, data []byte) {
	s, ok := m.seen[key]
	if !ok {
		s = &fsSnapshot{step: h.step, data: data}
		m.seen[key] = s
	}
	if what := ns.find(data, func(f fsForbidden) bool { return f.own || f.step < s.step }); what != "" {
		h.t.Fatalf("step %d: %s's %s, cut at step %d, holds %s", h.step, m.name, name, s.step, what)
	}
}

// localSnapshot fails if a local snapshot file outlives its epoch or
// group.
func (h *fsHistory) localSnapshot(m *fsMember, rel string, b []byte) {
	if !strings.Contains(rel, h.gh) {
		return
	}
	if !m.in && !m.leaving {
		h.t.Fatalf("step %d: %s's local snapshot %s outlives the group", h.step, m.name, rel)
	}
	h.counts["local snapshot checks"]++
	var e uint64
	if len(b) >= 24 {
		e = binary.LittleEndian.Uint64(b[16:])
	}
	if e != m.epoch || (!strings.HasSuffix(rel, "latest.snapshot") && !strings.HasSuffix(rel, fmt.Sprintf("epoch_%d.snapshot", m.epoch))) {
		h.t.Fatalf("step %d: %s's local snapshot %s (epoch %d) outlives its epoch (the group is at %d)", h.step, m.name, rel, e, m.epoch)
	}
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}
