package mlscrash

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/localstore"
)

// Continue implements crashtest.Workload: st is the store of the member
// under test reopened after a crash. It checks the recovered groups
// against the world at the crash, re-delivers what the member had not
// durably processed, checks that all members agree, and performs one more
// commit and message in every group.
func (m *MLS) Continue(ctx context.Context, st *localstore.Store) error {
	// The workload that crashed continues; a workload made at a crash
	// point of a running one continues that one's world, unless it failed.
	src := m
	if !m.ran {
		src = m.shared.running
		if src != nil && src.failed {
			src = nil
		}
	}
	if src == nil || src.w == nil || len(src.w.groupsOfMUT()) == 0 {
		return continueEmpty(ctx, st, m.cfg.Options)
	}
	// The next operations go to the group of the operation in flight
	// (the first group if none); only its members are copied.
	focus := src.w.inflight.group
	if _, ok := src.w.rosters[focus]; !ok {
		if gs := src.w.groupsOfMUT(); len(gs) > 0 {
			focus = gs[0]
		}
	}
	wd, err := src.w.clone(ctx, focus)
	if err != nil {
		return err
	}
	c := &MLS{cfg: m.cfg, checking: true, w: wd, rng: rand.New(rand.NewPCG(m.cfg.Seed, uint64(len(wd.ds))))}
	c.mut = newMember(mutName, st, m.cfg.Options)
	if err := c.checkRecovered(ctx); err != nil {
		return fmt.Errorf("recovered state: %w", err)
	}
	if err := c.catchUp(ctx); err != nil {
		return fmt.Errorf("catch up: %w", err)
	}
	if err := c.checkAgreement(); err != nil {
		return fmt.Errorf("after catch-up: %w", err)
	}
	// The next operations: a commit and messages both ways.
	gid := focus
	kind := "update"
	if len(c.othersIn(gid, "")) == 0 {
		kind = "add" // the crash came right after the group was created
	}
	if err := c.mutCommit(ctx, gid, kind); err != nil {
		return fmt.Errorf("next commit: %w", err)
	}
	if err := c.mutSend(ctx, gid, 1); err != nil {
		return fmt.Errorf("next message: %w", err)
	}
	if err := c.otherSend(ctx, gid); err != nil {
		return fmt.Errorf("next message: %w", err)
	}
	if err := c.mutSync(ctx, gid); err != nil {
		return fmt.Errorf("next message: %w", err)
	}
	if err := c.checkAgreement(); err != nil {
		return fmt.Errorf("after the next operations: %w", err)
	}
	return nil
}

// checkRecovered loads every group of the store and checks it is at the
// epoch the member acknowledged, or one further if the operation in
// flight survived, with the authenticator the other members saw.
func (m *MLS) checkRecovered(ctx context.Context) error {
	gids, err := m.mut.st.Groups(ctx)
	if err != nil {
		return err
	}
	in := m.w.inflight
	for _, b := range gids {
		gid := string(b)
		if _, known := m.w.rosters[gid]; !known {
			return fmt.Errorf("store holds unknown group %q", gid)
		}
		g, err := engine.LoadGroup(ctx, m.mut.st, b, m.mut.opts)
		if err != nil {
			return err
		}
		m.mut.groups[gid] = g
		want, acked := m.w.mutEpoch[gid]
		switch {
		case !acked:
			if in.group != gid || (in.op != "join" && in.op != "create") {
				return fmt.Errorf("group %s is stored but was never acknowledged (in flight: %+v)", gid, in)
			}
		case g.Epoch() == want:
		case g.Epoch() == want+1 && in.op == "process" && in.group == gid && m.w.ds[in.entry].kind == kindCommit:
		default:
			return fmt.Errorf("group %s at epoch %d, acknowledged %d (in flight: %+v)", gid, g.Epoch(), want, in)
		}
		if a, ok := m.w.auth[gid][g.Epoch()]; (ok || acked) && !bytes.Equal(a, g.EpochAuthenticator()) {
			return fmt.Errorf("group %s epoch %d: authenticator differs from the other members'", gid, g.Epoch())
		}
		if g.HasPendingCommit() && !(acked && g.Epoch() == want) {
			return fmt.Errorf("group %s has a pending commit at epoch %d", gid, g.Epoch())
		}
	}
	for _, gid := range m.w.groupsOfMUT() {
		if _, ok := m.mut.groups[gid]; !ok {
			if _, acked := m.w.mutEpoch[gid]; acked {
				return fmt.Errorf("acknowledged group %s is missing", gid)
			}
		}
	}
	return nil
}

// catchUp redoes a lost join or group creation and re-delivers, from the
// delivery service's log, every message the member had not acknowledged
// processing. Only the message in flight at the crash may turn out to be
// processed already. A pending commit the log does not have is dropped.
func (m *MLS) catchUp(ctx context.Context) error {
	in := m.w.inflight
	for _, gid := range m.w.groupsOfMUT() {
		if _, ok := m.mut.groups[gid]; !ok {
			var err error
			if in.op == "create" && in.group == gid {
				err = m.mutCreate(ctx, gid)
			} else {
				err = m.mutJoin(ctx, gid)
			}
			if err != nil {
				return err
			}
		}
		g := m.mut.groups[gid]
		if idx, ok := m.w.welcome[gid]; ok {
			// The join survived without being acknowledged.
			delete(m.w.welcome, gid)
			m.w.cursor[gid] = idx + 1
		}
		for i := m.w.cursor[gid]; i < len(m.w.ds); i++ {
			e := m.w.ds[i]
			if e.group != gid || e.kind == kindWelcome || (e.kind == kindApp && e.sender == mutName) {
				continue
			}
			res, err := g.Process(ctx, e.msg)
			if err != nil {
				if in.op == "process" && in.entry == i && errTolerated(err) {
					continue
				}
				return fmt.Errorf("re-deliver %s #%d from %s in %s epoch %d: %w", e.kind, i, e.sender, gid, e.epoch, err)
			}
			if e.kind == kindApp && !bytes.Equal(res.ApplicationData, e.plain) {
				return fmt.Errorf("re-delivered message decrypted to %q, want %q", res.ApplicationData, e.plain)
			}
		}
		m.w.cursor[gid] = len(m.w.ds)
		m.w.mutEpoch[gid] = g.Epoch()
		if g.HasPendingCommit() {
			if in.op != "commit" || in.group != gid {
				return fmt.Errorf("group %s: pending commit left after catch-up (in flight: %+v)", gid, in)
			}
			if err := g.ClearPendingCommit(ctx); err != nil {
				return err
			}
		}
		if err := m.w.recordAuth(gid, g); err != nil {
			return err
		}
	}
	m.w.inflight = inflight{}
	return nil
}

// checkAgreement checks that every member of every group of the member
// under test is at its epoch with its authenticator.
func (m *MLS) checkAgreement() error {
	for _, gid := range m.w.groupsOfMUT() {
		g := m.mut.groups[gid]
		for _, name := range m.othersIn(gid, "") {
			og := m.w.others[name].groups[gid]
			if og.Epoch() != g.Epoch() || !bytes.Equal(og.EpochAuthenticator(), g.EpochAuthenticator()) {
				return fmt.Errorf("group %s: %s at epoch %d, %s at epoch %d, or authenticators differ", gid, mutName, g.Epoch(), name, og.Epoch())
			}
		}
	}
	return nil
}

// continueEmpty continues after a crash before the workload touched the
// store: the store must hold no group, and a new group must work.
func continueEmpty(ctx context.Context, st *localstore.Store, opts engine.Options) error {
	gids, err := st.Groups(ctx)
	if err != nil {
		return err
	}
	if len(gids) != 0 {
		return fmt.Errorf("store holds %d groups before the workload ran", len(gids))
	}
	c := &MLS{cfg: Config{Options: opts}, w: newWorld(opts), rng: rand.New(rand.NewPCG(1, 2))}
	c.mut = newMember(mutName, st, opts)
	if err := c.mutCreate(ctx, "group-0"); err != nil {
		return err
	}
	if err := c.mutCommit(ctx, "group-0", "add"); err != nil {
		return err
	}
	if err := c.mutSend(ctx, "group-0", 1); err != nil {
		return err
	}
	return c.checkAgreement()
}
