package mlscrash

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/localstore/crashtest"
)

// cs is the cipher suite of every group of the workload.
const cs = suite.X25519AES128GCMSHA256Ed25519

// Config describes an [MLS] workload.
type Config struct {
	// Seed makes the sequence of operations (and all randomness of the
	// run without crashes) reproducible.
	Seed uint64
	// Ops is the least number of store operations (batches) the member
	// under test performs.
	Ops int
	// Groups is the number of groups (at least 1).
	Groups int
	// Options are the engine options of every member. A small LeaseBlock
	// makes sending write more often.
	Options engine.Options
}

// MLS is a crashtest workload of real MLS groups: the member under test
// keeps its state in the store under test, the other members in memory.
// Its operations: group creation, adds, removes and self-updates
// committed by the member under test and by others, application messages
// sent and received, KeyPackages and joins from Welcomes.
//
// Run it with localstore.Options.SyncApply: a crash check continues the
// world (the other members and the delivery service) as it is at the
// crash instant, which it can only read safely when every file-system
// operation of the store runs in the workload's goroutine. With the
// background applier the crash hook runs concurrently with the workload;
// crashtest would have to let the workload capture its state under the
// same lock as the file-system copy.
type MLS struct {
	cfg    Config
	shared *shared
	w      *world
	mut    *member
	rng    *rand.Rand
	st     *counting
	ran    bool
	failed bool
	// checking is set on the copy a crash check continues: members it
	// did not copy belong to the running workload and must not change.
	checking bool
}

// shared links the workloads made by one factory: a workload made for a
// crash point (in crashtest's forked mode) continues from the world of the
// one that is running.
type shared struct {
	running *MLS
}

var _ crashtest.Workload = (*MLS)(nil)

// NewMLS returns a workload factory for crashtest.Config.NewWorkload.
func NewMLS(cfg Config) func() crashtest.Workload {
	sh := &shared{}
	if cfg.Groups < 1 {
		cfg.Groups = 1
	}
	return func() crashtest.Workload { return &MLS{cfg: cfg, shared: sh} }
}

// counting counts the batches applied through it.
type counting struct {
	engine.Storage
	n int
}

// Apply implements engine.Storage.
func (c *counting) Apply(ctx context.Context, b *engine.Batch) error {
	if err := c.Storage.Apply(ctx, b); err != nil {
		return err
	}
	c.n++
	return nil
}

// StoreOps is the number of batches the member under test applied.
func (m *MLS) StoreOps() int {
	if m.st == nil {
		return 0
	}
	return m.st.n
}

// Run implements crashtest.Workload.
func (m *MLS) Run(ctx context.Context, t crashtest.Target) error {
	m.ran = true
	m.shared.running = m
	err := m.run(ctx, t)
	if err != nil {
		m.failed = true
	}
	return err
}

func (m *MLS) run(ctx context.Context, t crashtest.Target) error {
	m.rng = rand.New(rand.NewPCG(m.cfg.Seed, 0x4d4c53))
	m.st = &counting{Storage: t}
	m.w = newWorld(m.cfg.Options)
	m.mut = newMember(mutName, m.st, seededOptions(m.cfg.Options, m.cfg.Seed, mutName))
	if err := m.setup(ctx); err != nil {
		return err
	}
	for m.st.n < m.cfg.Ops {
		if err := m.step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// setup creates the groups: the first by the member under test, the
// others by another member who adds the member under test.
func (m *MLS) setup(ctx context.Context) error {
	for i := range m.cfg.Groups {
		gid := fmt.Sprintf("group-%d", i)
		if i == 0 {
			if err := m.mutCreate(ctx, gid); err != nil {
				return err
			}
			if err := m.mutCommit(ctx, gid, "add"); err != nil {
				return err
			}
			if err := m.mutCommit(ctx, gid, "add"); err != nil {
				return err
			}
			continue
		}
		creator := m.newOther()
		g, err := creator.client.CreateGroup(ctx, cs, []byte(gid))
		if err != nil {
			return fmt.Errorf("%s creates %s: %w", creator.name, gid, err)
		}
		creator.groups[gid] = g
		m.w.rosters[gid] = []string{creator.name}
		m.w.been[gid] = map[string]bool{creator.name: true}
		if err := m.w.recordAuth(gid, g); err != nil {
			return err
		}
		kp, err := m.mutKeyPackage(ctx)
		if err != nil {
			return err
		}
		other := m.newOther()
		okp, err := other.client.CreateKeyPackage(ctx, cs, false)
		if err != nil {
			return fmt.Errorf("key package: %w", err)
		}
		added := []string{mutName, other.name}
		if err := m.w.otherCommit(ctx, creator, gid, engine.CommitOptions{Add: [][]byte{kp, okp}}, added, nil); err != nil {
			return err
		}
		if err := m.mutJoin(ctx, gid); err != nil {
			return err
		}
	}
	return nil
}

// newOther creates another member with its own in-memory store.
func (m *MLS) newOther() *member {
	m.w.nextID++
	name := fmt.Sprintf("m%02d", m.w.nextID)
	o := newMember(name, engine.NewMemStorage(), seededOptions(m.cfg.Options, m.cfg.Seed, name))
	m.w.others[name] = o
	return o
}

// step performs one random operation.
func (m *MLS) step(ctx context.Context) error {
	gids := m.w.groupsOfMUT()
	gid := gids[m.rng.IntN(len(gids))]
	switch r := m.rng.IntN(100); {
	case r < 25:
		return m.otherSend(ctx, gid)
	case r < 40:
		return m.mutSync(ctx, gid)
	case r < 55:
		return m.mutSend(ctx, gid, 1+m.rng.IntN(3))
	case r < 72:
		return m.otherCommit(ctx, gid)
	case r < 95:
		return m.mutCommit(ctx, gid, m.commitKind(gid))
	default:
		_, err := m.mutKeyPackage(ctx)
		return err
	}
}

// commitKind picks a self-update, an add or a remove, keeping groups
// between 3 and 5 members.
func (m *MLS) commitKind(gid string) string {
	n := len(m.w.rosters[gid])
	switch r := m.rng.IntN(3); {
	case r == 1 && n < 5:
		return "add"
	case r == 2 && n > 3:
		return "remove"
	default:
		return "update"
	}
}

// others returns the members of gid other than the member under test and
// except, sorted.
func (m *MLS) othersIn(gid, except string) []string {
	var names []string
	for _, n := range m.w.rosters[gid] {
		if n != mutName && n != except {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// addable returns a member to add to gid and its fresh KeyPackage: an
// existing member that was never in gid, or a new one.
func (m *MLS) addable(ctx context.Context, gid string) (string, []byte, error) {
	var cands []string
	for n := range m.w.others {
		if !m.w.been[gid][n] {
			cands = append(cands, n)
		}
	}
	slices.Sort(cands)
	var o *member
	if len(cands) > 0 && !m.checking && m.rng.IntN(2) == 0 {
		o = m.w.others[cands[m.rng.IntN(len(cands))]]
	} else {
		o = m.newOther()
	}
	kp, err := o.client.CreateKeyPackage(ctx, cs, false)
	if err != nil {
		return "", nil, fmt.Errorf("%s key package: %w", o.name, err)
	}
	return o.name, kp, nil
}

// commitOptions builds the commit options of kind for committer in gid.
func (m *MLS) commitOptions(ctx context.Context, gid, committer string, g *engine.Group, kind string) (engine.CommitOptions, []string, []string, error) {
	switch kind {
	case "add":
		name, kp, err := m.addable(ctx, gid)
		if err != nil {
			return engine.CommitOptions{}, nil, nil, err
		}
		return engine.CommitOptions{Add: [][]byte{kp}}, []string{name}, nil, nil
	case "remove":
		cands := m.othersIn(gid, committer)
		name := cands[m.rng.IntN(len(cands))]
		leaf, err := leafOf(g, name)
		if err != nil {
			return engine.CommitOptions{}, nil, nil, err
		}
		return engine.CommitOptions{Remove: []uint32{leaf}}, nil, []string{name}, nil
	default:
		return engine.CommitOptions{SelfUpdate: true}, nil, nil, nil
	}
}

// otherSend makes a random other member of gid send a message.
func (m *MLS) otherSend(ctx context.Context, gid string) error {
	names := m.othersIn(gid, "")
	o := m.w.others[names[m.rng.IntN(len(names))]]
	g := o.groups[gid]
	plain := fmt.Appendf(nil, "%s says %d", o.name, len(m.w.ds))
	msg, err := g.Encrypt(ctx, plain, nil)
	if err != nil {
		return fmt.Errorf("%s encrypts in %s: %w", o.name, gid, err)
	}
	return m.w.publish(ctx, entry{kind: kindApp, group: gid, epoch: g.Epoch(), sender: o.name, msg: msg, plain: plain})
}

// otherCommit makes a random other member of gid commit.
func (m *MLS) otherCommit(ctx context.Context, gid string) error {
	names := m.othersIn(gid, "")
	o := m.w.others[names[m.rng.IntN(len(names))]]
	kind := m.commitKind(gid)
	if kind == "remove" && len(m.othersIn(gid, o.name)) == 0 {
		kind = "update"
	}
	opts, added, removed, err := m.commitOptions(ctx, gid, o.name, o.groups[gid], kind)
	if err != nil {
		return err
	}
	return m.w.otherCommit(ctx, o, gid, opts, added, removed)
}
