package mlscrash

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/mlsbackup/mlsbackup/engine"
)

// entryKind is what a delivery-service log entry carries.
type entryKind int

const (
	kindCommit entryKind = iota + 1
	kindApp
	kindWelcome
)

func (k entryKind) String() string {
	switch k {
	case kindCommit:
		return "commit"
	case kindApp:
		return "application"
	case kindWelcome:
		return "welcome"
	}
	return "unknown"
}

// entry is one message the delivery service accepted, in its total order.
type entry struct {
	kind   entryKind
	group  string
	epoch  uint64 // the epoch the message belongs to (for a Welcome: the epoch joined)
	sender string
	msg    []byte
	to     []string // Welcome recipients
	plain  []byte   // application plaintext, to check decryption
}

// world is everything outside the member under test: the other members,
// the delivery service's log and what the member under test acknowledged.
// It is only touched by the workload goroutine, or by a crash hook running
// on that goroutine while it is blocked in the store.
type world struct {
	opts   engine.Options
	others map[string]*member
	ds     []entry
	// rosters lists each group's members by name (mutName included).
	rosters map[string][]string
	// auth records each group's epoch authenticators as the first member
	// to enter the epoch saw them.
	auth map[string]map[uint64][]byte
	// cursor is, per group, the index in ds of the first entry the member
	// under test has not acknowledged processing.
	cursor map[string]int
	// mutEpoch is, per group, the epoch the member under test acknowledged.
	mutEpoch map[string]uint64
	// welcome is, per group, the ds index of a Welcome the member under
	// test has not joined from yet.
	welcome map[string]int
	// inflight describes the member-under-test operation in progress.
	inflight inflight
	// been lists, per group, every name that was ever a member.
	been   map[string]map[string]bool
	nextID int
}

// inflight is the operation the member under test is performing.
type inflight struct {
	op    string // "", "process", "commit", "join", "encrypt", "keypackage", "create"
	group string
	entry int // ds index for "process" and "join"
}

func newWorld(opts engine.Options) *world {
	return &world{
		opts: opts, others: map[string]*member{}, rosters: map[string][]string{},
		auth: map[string]map[uint64][]byte{}, cursor: map[string]int{}, mutEpoch: map[string]uint64{},
		welcome: map[string]int{}, been: map[string]map[string]bool{},
	}
}

// clone copies the world so that a crash check can continue it in group
// focus without disturbing the running workload: the members of focus are
// copied, the other members are shared and must only be read.
func (w *world) clone(ctx context.Context, focus string) (*world, error) {
	c := newWorld(w.opts)
	maps.Copy(c.others, w.others)
	for _, n := range w.rosters[focus] {
		if n == mutName {
			continue
		}
		cm, err := w.others[n].clone(ctx, focus)
		if err != nil {
			return nil, err
		}
		c.others[n] = cm
	}
	c.ds = slices.Clone(w.ds)
	for g, r := range w.rosters {
		c.rosters[g] = slices.Clone(r)
	}
	for g, a := range w.auth {
		c.auth[g] = maps.Clone(a)
	}
	c.cursor = maps.Clone(w.cursor)
	c.mutEpoch = maps.Clone(w.mutEpoch)
	c.welcome = maps.Clone(w.welcome)
	for g, b := range w.been {
		c.been[g] = maps.Clone(b)
	}
	c.inflight = w.inflight
	c.nextID = w.nextID
	return c, nil
}

// groupsOfMUT returns the groups whose roster includes the member under
// test, sorted.
func (w *world) groupsOfMUT() []string {
	var gs []string
	for g, r := range w.rosters {
		if slices.Contains(r, mutName) {
			gs = append(gs, g)
		}
	}
	slices.Sort(gs)
	return gs
}

// recordAuth notes the authenticator of g's current epoch; a different
// value for a known epoch is a fork.
func (w *world) recordAuth(gid string, g *engine.Group) error {
	a := w.auth[gid]
	if a == nil {
		a = map[uint64][]byte{}
		w.auth[gid] = a
	}
	if prev, ok := a[g.Epoch()]; ok {
		if !bytes.Equal(prev, g.EpochAuthenticator()) {
			return fmt.Errorf("group %s epoch %d: authenticators differ (fork)", gid, g.Epoch())
		}
		return nil
	}
	a[g.Epoch()] = bytes.Clone(g.EpochAuthenticator())
	return nil
}

// publish appends e to the log and delivers it to every other member
// concerned at once; the member under test receives it later, from its
// cursor.
func (w *world) publish(ctx context.Context, e entry) error {
	w.ds = append(w.ds, e)
	switch e.kind {
	case kindWelcome:
		for _, name := range e.to {
			if name == mutName {
				w.welcome[e.group] = len(w.ds) - 1
				continue
			}
			m := w.others[name]
			g, err := m.client.JoinFromWelcome(ctx, e.msg, nil)
			if err != nil {
				return fmt.Errorf("%s joins %s: %w", name, e.group, err)
			}
			m.groups[e.group] = g
			if err := w.recordAuth(e.group, g); err != nil {
				return err
			}
		}
		return nil
	case kindCommit, kindApp:
		for _, name := range slices.Clone(w.rosters[e.group]) {
			if name == mutName || name == e.sender {
				continue
			}
			if err := w.deliver(ctx, w.others[name], e); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("publish: unknown entry kind %d", e.kind)
}

// deliver makes another member process e.
func (w *world) deliver(ctx context.Context, m *member, e entry) error {
	g := m.groups[e.group]
	res, err := g.Process(ctx, e.msg)
	if err != nil {
		return fmt.Errorf("%s processes %s from %s in %s epoch %d: %w", m.name, e.kind, e.sender, e.group, e.epoch, err)
	}
	if e.kind == kindApp && !bytes.Equal(res.ApplicationData, e.plain) {
		return fmt.Errorf("%s decrypted %q from %s, want %q", m.name, res.ApplicationData, e.sender, e.plain)
	}
	if res.Commit != nil {
		if res.Commit.SelfRemoved {
			delete(m.groups, e.group)
			w.rosters[e.group] = slices.DeleteFunc(w.rosters[e.group], func(n string) bool { return n == m.name })
			return nil
		}
		return w.recordAuth(e.group, g)
	}
	return nil
}

// otherCommit makes another member commit o in group gid and publishes it.
func (w *world) otherCommit(ctx context.Context, m *member, gid string, o engine.CommitOptions, added, removed []string) error {
	g := m.groups[gid]
	out, err := g.Commit(ctx, o)
	if err != nil {
		return fmt.Errorf("%s commits in %s: %w", m.name, gid, err)
	}
	epoch := g.Epoch()
	if _, err := g.MergePendingCommit(ctx); err != nil {
		return fmt.Errorf("%s merges in %s: %w", m.name, gid, err)
	}
	if err := w.recordAuth(gid, g); err != nil {
		return err
	}
	if err := w.publish(ctx, entry{kind: kindCommit, group: gid, epoch: epoch, sender: m.name, msg: out.Commit}); err != nil {
		return err
	}
	w.applyRoster(gid, added, removed)
	if out.Welcome != nil {
		return w.publish(ctx, entry{kind: kindWelcome, group: gid, epoch: out.Epoch, sender: m.name, msg: out.Welcome, to: added})
	}
	return nil
}

// applyRoster updates a roster after a commit: removed names go (the
// removed members already dropped themselves when processing it), added
// ones come.
func (w *world) applyRoster(gid string, added, removed []string) {
	for _, name := range removed {
		w.rosters[gid] = slices.DeleteFunc(w.rosters[gid], func(n string) bool { return n == name })
	}
	if w.been[gid] == nil {
		w.been[gid] = map[string]bool{}
	}
	for _, a := range added {
		w.rosters[gid] = append(w.rosters[gid], a)
		w.been[gid][a] = true
	}
}

// leafOf returns the leaf index of the member named name in g.
func leafOf(g *engine.Group, name string) (uint32, error) {
	for _, m := range g.Members() {
		if string(m.Identity) == name {
			return m.Index, nil
		}
	}
	return 0, fmt.Errorf("%s is not in group %x", name, g.GroupID())
}

// errTolerated reports whether re-processing a message the member under
// test may already have durably processed failed in the expected way.
func errTolerated(err error) bool {
	return errors.Is(err, engine.ErrWrongEpoch) || errors.Is(err, engine.ErrReplay)
}
