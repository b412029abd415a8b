package mlscrash

import (
	"bytes"
	"errors"
	"strings"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// loseDisk replaces m's store by an empty one, imports a random one of
// m's earlier snapshots and catches up on the commits the group made
// since; a commit m's lost state made ends the catch-up with a re-join.
func (r *restoreProp) loseDisk(m *propMember) {
	snaps := r.snaps[m.name]
	s := snaps[r.rng.IntN(len(snaps))]
	r.reincarnate(m)
	if _, err := engine.ImportSnapshot(r.ctx, m.st, s.data, false); err != nil {
		r.fatalf("import %s's snapshot of epoch %d: %v", m.name, s.epoch, err)
	}
	g, err := engine.LoadGroup(r.ctx, m.st, r.gid, m.opts)
	if err != nil {
		r.fatalf("load %s's restored group: %v", m.name, err)
	}
	if g.Epoch() != s.epoch || !g.Restored() {
		r.fatalf("%s restored: epoch %d restored %v, want epoch %d restored", m.name, g.Epoch(), g.Restored(), s.epoch)
	}
	m.g, m.restored, m.restoredAt, m.restoredFrom = g, true, uint64(r.step), s.epoch
	r.counts.restores++
	r.tryWhileRestored(m) // in the restored epoch
	for _, c := range r.commits {
		if c.epoch != m.g.Epoch() {
			continue
		}
		res, err := m.g.Process(r.ctx, c.msg)
		switch {
		case err != nil:
			// Only a commit of its lost state stops a restored member.
			if c.sender != m.name || c.external || !errors.Is(err, engine.ErrInvalidCommit) {
				r.fatalf("restored %s processes %s's commit of epoch %d: %v", m.name, c.sender, c.epoch, err)
			}
			if !strings.Contains(err.Error(), "re-join") {
				r.errorOnce("re-join hint", "restored %s meets its own pre-loss commit: %v; want an error that says to re-join", m.name, err)
			}
			r.counts.ownCommits++
			r.rejoin(m)
			return
		case res.Commit != nil && res.Commit.SelfRemoved:
			// Its lost state re-joined by external commit, removing the
			// leaf the snapshot holds.
			if c.sender != m.name || !c.external {
				r.fatalf("restored %s removed by %s's commit of epoch %d", m.name, c.sender, c.epoch)
			}
			r.rejoin(m)
			return
		}
		r.tryWhileRestored(m) // after each commit of the others too
	}
	if o := r.other(m); m.g.Epoch() != o.g.Epoch() {
		r.fatalf("restored %s caught up to epoch %d, the group is at %d", m.name, m.g.Epoch(), o.g.Epoch())
	}
}

// rejoin makes m re-join by external commit from another member's
// GroupInfo, removing the leaf its identity holds in the group (its lost
// state's leaf).
func (r *restoreProp) rejoin(m *propMember) {
	from := r.other(m)
	gi, err := from.g.GroupInfo(r.ctx, true)
	if err != nil {
		r.fatalf("group info: %v", err)
	}
	leaf, err := leafOf(from.g, m.name)
	if err != nil {
		r.fatalf("%v", err)
	}
	if m.g != nil && m.g.OwnIndex() != leaf {
		// The restored state's leaf was given up by a later re-join of
		// its lost state; the group holds m at another leaf.
		r.counts.staleLeaf++
	}
	epoch := from.g.Epoch()
	g, commit, err := engine.NewClient(m.st, []byte(m.name), m.opts).JoinByExternalCommit(r.ctx, gi, nil, &leaf)
	if err != nil {
		r.fatalf("%s re-joins: %v", m.name, err)
	}
	if g.Restored() {
		r.fatalf("%s re-joined and is still restored", m.name)
	}
	m.g, m.restored = g, false
	r.enter(m)
	r.counts.rejoins++
	r.publish(m, propCommit{epoch: epoch, sender: m.name, external: true, msg: commit}, "")
}

// other returns a live member other than m.
func (r *restoreProp) other(m *propMember) *propMember {
	for _, o := range r.live {
		if o != m {
			return o
		}
	}
	r.fatalf("%s is the only member", m.name)
	return nil
}

// finish has every still-restored member commit, everyone send once, and
// checks that all members agree on the epoch and its authenticator.
func (r *restoreProp) finish() {
	r.step++
	for _, m := range r.live {
		if m.restored {
			r.send(m)
			r.commit(m, "update")
		}
	}
	for _, m := range r.live {
		r.send(m)
	}
	want := r.live[0].g
	for _, m := range r.live {
		if m.g.Restored() || m.g.Epoch() != want.Epoch() || !bytes.Equal(m.g.EpochAuthenticator(), want.EpochAuthenticator()) {
			r.fatalf("%s: epoch %d restored %v authenticator %x; %s: epoch %d authenticator %x",
				m.name, m.g.Epoch(), m.g.Restored(), m.g.EpochAuthenticator(), r.live[0].name, want.Epoch(), want.EpochAuthenticator())
		}
	}
	if r.counts.accepted > 0 {
		r.fatalf("%d sends of restored members were accepted", r.counts.accepted)
	}
}

// checkRestoredCommitMsg checks that a restored member's commit is a
// PublicMessage with an UpdatePath, whatever PrivateHandshake says.
func checkRestoredCommitMsg(r *restoreProp, commit []byte) {
	m, err := wire.ParseMLSMessage(commit, 0)
	if err != nil {
		r.fatalf("%v", err)
	}
	if m.WireFormat != wire.WireFormatPublicMessage || m.PublicMessage.Content.Commit == nil || m.PublicMessage.Content.Commit.Path == nil {
		r.fatalf("a restored member's commit: wire format %d; want a PublicMessage commit with a path", m.WireFormat)
	}
}
