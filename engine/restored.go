package engine

import (
	"context"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/framing"
	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// A member restored from a snapshot does not know which secret-tree keys
// (application and handshake ratchets, RFC 9420 §6.3.1) its lost state
// used after the snapshot was taken: in the snapshot's epoch, and in every
// later epoch the lost state reached by processing the same commits the
// restored member now processes to catch up. Such a member is marked
// restored (groupState.restored, stored in state/context and carried by
// its snapshots) and never encrypts with a secret-tree key until it has
// merged a commit of its own created after the restore: that commit has an
// UpdatePath with a fresh commit secret, so its epoch and every later one
// derive from secrets the lost state never had. Rejoining by external
// commit gives a fresh state too. Processing other members' commits does
// not clear the mark.

// commitWhileRestored adjusts a commit created by a restored member: it
// always carries an UpdatePath (a commit without one derives its epoch from
// the old init secret and content the lost state may have produced
// identically), and it is sent as a PublicMessage (a PrivateMessage would
// use a handshake-ratchet key), whatever [Options.PrivateHandshake] says.
func (g *Group) commitWhileRestored(s *groupState, forcePath bool) (bool, wire.WireFormat) {
	if s.restored {
		return true, wire.WireFormatPublicMessage
	}
	return forcePath, g.handshakeWireFormat()
}

// mergeOwnRestored clears the restored mark of the epoch st enters when st
// is this member's own commit pc with an UpdatePath.
func (st *staged) mergeOwnRestored(pc *pendingCommit) {
	if len(pc.CommitSecret) > 0 {
		st.ns.restored = false
	}
}

// ownCommitNotPending is the error for a commit from this member's own leaf
// that is not its pending commit. For a restored member it is most likely
// a commit its lost state made before the disk was lost: the restored
// state cannot follow the group past it, and the member must re-join.
func ownCommitNotPending(s *groupState) error {
	if s.restored {
		return fmt.Errorf("commit from own leaf that is not the pending commit: a commit this member made before it was restored from a snapshot; "+
			"the restored state cannot follow it: re-join the group by external commit, resyncing the leaf that holds this member's identity in the group now (leaf %d when the snapshot was taken): %w", s.me(), ErrInvalidCommit)
	}
	return fmt.Errorf("commit from own leaf that is not the pending commit: %w", ErrInvalidCommit)
}

// ownPrivateCommit reports whether pm, a PrivateMessage of the current
// epoch that a restored member could not open, is a commit from its own
// leaf: with [Options.PrivateHandshake] that is how it meets a commit its
// lost state made (a member cannot open its own PrivateMessages), which
// must get the same answer as the PublicMessage case, not a replay.
func ownPrivateCommit(s *groupState, pm *wire.PrivateMessage) bool {
	if !s.restored || pm.ContentType != wire.ContentTypeCommit {
		return false
	}
	sd, err := framing.OpenSenderData(s.cs, s.epoch.SenderDataSecret, pm)
	return err == nil && sd.LeafIndex == uint32(s.me())
}

// checkResync applies RFC 9420 §12.4.3.2 to an external commit's Remove:
// the joiner may remove only an old version of itself, so the joiner's
// new credential must be a valid successor of the removed leaf's in old,
// the tree before the commit ([AuthenticationService.Successor]; by
// default: the credentials name the same identity, basic or x509).
// Without this rule anyone holding a GroupInfo could remove any member
// while joining.
func checkResync(ctx context.Context, opts Options, old *tree.Tree, removed []Member, joiner *wire.LeafNode) error {
	as := opts.authentication()
	next := credentialOf(&joiner.Credential)
	for _, m := range removed {
		leaf := old.Leaf(tree.LeafIndex(m.Index))
		if leaf == nil {
			return fmt.Errorf("external commit removes blank leaf %d: %w", m.Index, ErrInvalidCommit)
		}
		if err := as.Successor(ctx, credentialOf(&leaf.Credential), next); err != nil {
			return fmt.Errorf("external commit removes leaf %d of another identity than the joiner's (only an old version of itself): %w: %w", m.Index, ErrInvalidCommit, asBadCredential(err))
		}
	}
	return nil
}
