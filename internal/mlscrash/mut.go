package mlscrash

import (
	"bytes"
	"context"
	"fmt"
)

// The operations of the member under test. Each sets w.inflight before
// touching the store and updates what the world knows it acknowledged
// after.

// mutCreate makes the member under test create group gid.
func (m *MLS) mutCreate(ctx context.Context, gid string) error {
	m.w.rosters[gid] = []string{mutName}
	m.w.been[gid] = map[string]bool{mutName: true}
	m.w.inflight = inflight{op: "create", group: gid}
	g, err := m.mut.client.CreateGroup(ctx, cs, []byte(gid))
	if err != nil {
		return fmt.Errorf("%s creates %s: %w", mutName, gid, err)
	}
	m.w.inflight = inflight{}
	m.mut.groups[gid] = g
	m.w.mutEpoch[gid] = g.Epoch()
	m.w.cursor[gid] = len(m.w.ds)
	return m.w.recordAuth(gid, g)
}

// mutKeyPackage makes the member under test create a KeyPackage.
func (m *MLS) mutKeyPackage(ctx context.Context) ([]byte, error) {
	m.w.inflight = inflight{op: "keypackage"}
	kp, err := m.mut.client.CreateKeyPackage(ctx, cs, false)
	if err != nil {
		return nil, fmt.Errorf("%s key package: %w", mutName, err)
	}
	m.w.inflight = inflight{}
	return kp, nil
}

// mutJoin makes the member under test join gid from its pending Welcome.
func (m *MLS) mutJoin(ctx context.Context, gid string) error {
	idx, ok := m.w.welcome[gid]
	if !ok {
		return fmt.Errorf("%s joins %s: no Welcome", mutName, gid)
	}
	m.w.inflight = inflight{op: "join", group: gid, entry: idx}
	g, err := m.mut.client.JoinFromWelcome(ctx, m.w.ds[idx].msg, nil)
	if err != nil {
		return fmt.Errorf("%s joins %s: %w", mutName, gid, err)
	}
	m.w.inflight = inflight{}
	m.mut.groups[gid] = g
	delete(m.w.welcome, gid)
	m.w.cursor[gid] = idx + 1
	m.w.mutEpoch[gid] = g.Epoch()
	return m.w.recordAuth(gid, g)
}

// mutSync makes the member under test process every message of gid it
// has not processed, in the delivery service's order.
func (m *MLS) mutSync(ctx context.Context, gid string) error {
	g := m.mut.groups[gid]
	for i := m.w.cursor[gid]; i < len(m.w.ds); i++ {
		e := m.w.ds[i]
		if e.group != gid {
			continue
		}
		if e.kind == kindWelcome || (e.kind == kindApp && e.sender == mutName) {
			m.w.cursor[gid] = i + 1
			continue
		}
		m.w.inflight = inflight{op: "process", group: gid, entry: i}
		res, err := g.Process(ctx, e.msg)
		if err != nil {
			return fmt.Errorf("%s processes %s #%d from %s in %s epoch %d: %w", mutName, e.kind, i, e.sender, gid, e.epoch, err)
		}
		m.w.inflight = inflight{}
		if e.kind == kindApp && !bytes.Equal(res.ApplicationData, e.plain) {
			return fmt.Errorf("%s decrypted %q from %s, want %q", mutName, res.ApplicationData, e.sender, e.plain)
		}
		m.w.cursor[gid] = i + 1
		m.w.mutEpoch[gid] = g.Epoch()
		if err := m.w.recordAuth(gid, g); err != nil {
			return err
		}
	}
	return nil
}

// mutSend makes the member under test send n messages in gid.
func (m *MLS) mutSend(ctx context.Context, gid string, n int) error {
	if err := m.mutSync(ctx, gid); err != nil {
		return err
	}
	g := m.mut.groups[gid]
	for range n {
		plain := fmt.Appendf(nil, "%s says %d", mutName, len(m.w.ds))
		m.w.inflight = inflight{op: "encrypt", group: gid}
		msg, err := g.Encrypt(ctx, plain, nil)
		if err != nil {
			return fmt.Errorf("%s encrypts in %s: %w", mutName, gid, err)
		}
		m.w.inflight = inflight{}
		if err := m.w.publish(ctx, entry{kind: kindApp, group: gid, epoch: g.Epoch(), sender: mutName, msg: msg, plain: plain}); err != nil {
			return err
		}
	}
	return nil
}

// mutCommit makes the member under test commit in gid (kind "add",
// "remove" or "update"), publish the commit and merge it by processing it
// back from the delivery service.
func (m *MLS) mutCommit(ctx context.Context, gid, kind string) error {
	if err := m.mutSync(ctx, gid); err != nil {
		return err
	}
	g := m.mut.groups[gid]
	if kind == "remove" && len(m.othersIn(gid, "")) == 0 {
		kind = "update"
	}
	opts, added, removed, err := m.commitOptions(ctx, gid, mutName, g, kind)
	if err != nil {
		return err
	}
	m.w.inflight = inflight{op: "commit", group: gid}
	out, err := g.Commit(ctx, opts)
	if err != nil {
		return fmt.Errorf("%s commits %s in %s: %w", mutName, kind, gid, err)
	}
	m.w.inflight = inflight{}
	if err := m.w.publish(ctx, entry{kind: kindCommit, group: gid, epoch: g.Epoch(), sender: mutName, msg: out.Commit}); err != nil {
		return err
	}
	m.w.applyRoster(gid, added, removed)
	if out.Welcome != nil {
		if err := m.w.publish(ctx, entry{kind: kindWelcome, group: gid, epoch: out.Epoch, sender: mutName, msg: out.Welcome, to: added}); err != nil {
			return err
		}
	}
	return m.mutSync(ctx, gid)
}
