package engine

import (
	"bytes"
	"context"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/framing"
	"github.com/mlsbackup/mlsbackup/engine/keyschedule"
	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// staged is a commit being created, processed or merged: the proposals
// applied to a clone of the group state, then the path, then the key
// schedule. Nothing touches the original state.
type staged struct {
	old       *groupState
	ns        *groupState
	committer wire.Sender
	// sender is the committer's leaf in the new tree.
	sender    tree.LeafIndex
	proposals []resolvedProposal
	added     []tree.LeafIndex
	addedKPs  []*wire.KeyPackage
	removed   []Member
	updated   []tree.LeafIndex
	pskIDs    []wire.PreSharedKeyID
	kemOutput []byte
	reinit    *wire.ReInit
	exts      wire.Extensions
	// selfRemoved is set when the commit removes this member.
	selfRemoved  bool
	commitSecret []byte
	// initSecret overrides the previous epoch's init secret (the creator of
	// an external commit).
	initSecret []byte
	// confirmed, if set, is the precomputed confirmed transcript hash (own
	// pending commit).
	confirmed []byte
	ep        *keyschedule.Epoch
}

// stage resolves and applies the proposals of c from committer to a clone
// of s (RFC 9420 §12.3). For an external commit, extLeaf is the joiner's
// leaf, added after the proposals.
func (s *groupState) stage(ctx context.Context, c *wire.Commit, committer wire.Sender, extLeaf *wire.LeafNode, opts Options) (*staged, error) {
	ps, err := s.resolveProposals(ctx, c, committer, opts)
	if err != nil {
		return nil, err
	}
	ns := s.clone()
	ns.proposals = nil
	ns.pending = nil
	st := &staged{old: s, ns: ns, committer: committer, proposals: ps, exts: s.gc.Extensions, sender: tree.LeafIndex(committer.LeafIndex)}
	me := tree.LeafIndex(noLeaf)
	if s.keys != nil {
		me = s.me()
	}
	var ownUpdate *wire.LeafNode
	var ownPriv []byte
	for _, rp := range ps {
		if rp.p.ProposalType == wire.ProposalTypeGroupContextExtensions {
			st.exts = rp.p.GroupContextExtensions.Extensions
		}
	}
	for i, rp := range ps {
		if rp.p.ProposalType != wire.ProposalTypeUpdate {
			continue
		}
		l := tree.LeafIndex(rp.sender.LeafIndex)
		leaf := &rp.p.Update.LeafNode
		if err := ns.tree.CheckLeafFits(leaf, &l); err != nil {
			return nil, &ProposalError{Index: i, Type: uint16(rp.p.ProposalType), Err: fmt.Errorf("%w: %w", ErrInvalidProposal, err)}
		}
		if err := ns.tree.UpdateLeaf(l, leaf); err != nil {
			return nil, &ProposalError{Index: i, Type: uint16(rp.p.ProposalType), Err: fmt.Errorf("%w: %w", ErrInvalidProposal, err)}
		}
		st.updated = append(st.updated, l)
		if l == me {
			if rp.leafPriv == nil {
				return nil, fmt.Errorf("update of own leaf without its private key: %w", ErrInvalidCommit)
			}
			ownUpdate, ownPriv = leaf, rp.leafPriv
		}
	}
	for _, rp := range ps {
		if rp.p.ProposalType != wire.ProposalTypeRemove {
			continue
		}
		l := tree.LeafIndex(rp.p.Remove.Removed)
		st.removed = append(st.removed, memberOf(s.ids, l, s.tree.Leaf(l)))
		if err := ns.tree.RemoveLeaf(l); err != nil {
			return nil, fmt.Errorf("remove leaf %d: %w: %w", l, ErrInvalidProposal, err)
		}
		if l == me {
			st.selfRemoved = true
		}
	}
	for i, rp := range ps {
		switch rp.p.ProposalType {
		case wire.ProposalTypeAdd:
			kp := &rp.p.Add.KeyPackage
			if err := ns.tree.CheckLeafFits(&kp.LeafNode, nil); err != nil {
				return nil, &ProposalError{Index: i, Type: uint16(rp.p.ProposalType), Err: fmt.Errorf("%w: %w", ErrInvalidProposal, err)}
			}
			st.added = append(st.added, ns.tree.AddLeaf(&kp.LeafNode))
			st.addedKPs = append(st.addedKPs, kp)
		case wire.ProposalTypePSK:
			st.pskIDs = append(st.pskIDs, rp.p.PreSharedKey.PSK)
		case wire.ProposalTypeExternalInit:
			st.kemOutput = rp.p.ExternalInit.KEMOutput
		case wire.ProposalTypeReInit:
			st.reinit = rp.p.ReInit
		}
	}
	if st.exts != nil && !sameExtensions(st.exts, s.gc.Extensions) {
		if err := checkMembersSupport(ns.tree, st.exts); err != nil {
			return nil, err
		}
	}
	if extLeaf != nil {
		if err := checkResync(ctx, opts, s.tree, st.removed, extLeaf); err != nil {
			return nil, err
		}
		if err := ns.tree.CheckLeafFits(extLeaf, nil); err != nil {
			return nil, fmt.Errorf("external committer leaf: %w: %w", ErrInvalidCommit, err)
		}
		st.sender = ns.tree.ReserveLeaf()
	}
	if !st.selfRemoved && ns.keys != nil {
		if ownUpdate != nil {
			ns.keys = tree.NewPrivateKeys(me, tree.KeyPair{Priv: ownPriv, Pub: ownUpdate.EncryptionKey})
		} else {
			ns.keys.Prune(ns.tree)
		}
	}
	return st, nil
}

// provisionalContext is the encoded GroupContext used as HPKE context of
// the commit's path (RFC 9420 §12.4.1): next epoch, new tree hash, old
// confirmed transcript hash, new extensions.
func (st *staged) provisionalContext(treeHash []byte) []byte {
	gc := st.old.gc
	gc.Epoch++
	gc.TreeHash = treeHash
	gc.Extensions = st.exts
	return codec.Marshal(gc)
}

// checkPathLeaf validates the leaf node of the commit's UpdatePath as
// every member does (RFC 9420 §7.3, §12.4.2): on its own, against the
// group's required capabilities after the commit, and, for a member's
// commit, against the rest of the tree (an external joiner's leaf was
// checked against it by stage). The credential is the caller's to check.
func (st *staged) checkPathLeaf(leaf *wire.LeafNode, opts Options) error {
	ns := st.ns
	req, err := requiredCapabilities(st.exts)
	if err != nil {
		return err
	}
	c := tree.LeafCheck{Source: wire.LeafNodeSourceCommit, GroupID: ns.gc.GroupID, Leaf: st.sender, Required: req, Now: opts.now()}
	if err := tree.ValidateLeafNode(ns.cs, leaf, c); err != nil {
		return fmt.Errorf("commit path leaf: %w: %w", ErrInvalidCommit, typed(err))
	}
	if st.committer.SenderType == wire.SenderTypeMember {
		if err := ns.tree.CheckLeafFits(leaf, &st.sender); err != nil {
			return fmt.Errorf("commit path leaf: %w: %w", ErrInvalidCommit, err)
		}
	}
	return nil
}

// receivePath validates and merges a received UpdatePath and decrypts it
// (RFC 9420 §12.4.2).
func (st *staged) receivePath(ctx context.Context, path *wire.UpdatePath, opts Options) error {
	ns := st.ns
	if err := st.checkPathLeaf(&path.LeafNode, opts); err != nil {
		return err
	}
	var old *wire.LeafNode
	if st.committer.SenderType == wire.SenderTypeMember {
		old = ns.tree.Leaf(st.sender)
	}
	if err := authenticateLeaf(ctx, ns.cs, opts, &path.LeafNode, old); err != nil {
		return fmt.Errorf("commit path leaf: %w: %w", ErrInvalidCommit, err)
	}
	if err := ns.tree.ApplyUpdatePath(st.sender, path); err != nil {
		return fmt.Errorf("apply path: %w: %w", ErrInvalidCommit, err)
	}
	if st.selfRemoved {
		return nil
	}
	dec, err := ns.tree.DecryptPath(ns.keys, st.sender, path, st.added, st.provisionalContext(ns.tree.TreeHash()))
	if err != nil {
		return fmt.Errorf("decrypt path: %w", typedPath(err))
	}
	ns.keys = dec.Keys
	st.commitSecret = dec.CommitSecret
	return nil
}

// finish runs the key schedule for the commit ac (RFC 9420 §8, §12.4.2):
// the transcript hashes, the new epoch's secrets and, when create is set,
// the confirmation tag it writes into ac; otherwise it verifies the tag.
func (st *staged) finish(ctx context.Context, ac *wire.AuthenticatedContent, create bool, opts Options) error {
	old, ns, cs := st.old, st.ns, st.old.cs
	confirmed := st.confirmed
	if confirmed == nil {
		var err error
		if confirmed, err = framing.ConfirmedTranscriptHash(cs, old.interim, ac); err != nil {
			return fmt.Errorf("transcript hash: %w", typed(err))
		}
	}
	gc := old.gc
	gc.Epoch++
	gc.TreeHash = ns.tree.TreeHash()
	gc.ConfirmedTranscriptHash = confirmed
	gc.Extensions = st.exts
	initSecret := st.initSecret
	switch {
	case initSecret != nil:
	case st.kemOutput != nil:
		priv, _, err := old.epoch.ExternalKeyPair(cs)
		if err != nil {
			return fmt.Errorf("external key pair: %w", err)
		}
		initSecret, err = keyschedule.ExternalInitSecret(cs, priv, st.kemOutput)
		if err != nil {
			return fmt.Errorf("external init: %w: %w", ErrInvalidCommit, typed(err))
		}
	default:
		initSecret = old.epoch.InitSecret
	}
	psk, err := pskSecret(ctx, cs, st.pskIDs, old.groupPSKs(opts.PSKs))
	if err != nil {
		return fmt.Errorf("commit psks: %w", err)
	}
	commitSecret := st.commitSecret
	if commitSecret == nil {
		commitSecret = make([]byte, cs.Nh())
	}
	ep, err := keyschedule.Next(cs, initSecret, commitSecret, psk, codec.Marshal(gc))
	if err != nil {
		return fmt.Errorf("key schedule: %w", err)
	}
	if create {
		ac.Auth.ConfirmationTag = framing.ConfirmationTag(cs, ep.ConfirmationKey, confirmed)
	} else if err := framing.VerifyConfirmationTag(cs, ep.ConfirmationKey, confirmed, ac.Auth.ConfirmationTag); err != nil {
		return fmt.Errorf("commit: %w", typed(err))
	}
	ns.gc = gc
	ns.interim = framing.InterimTranscriptHash(cs, confirmed, ac.Auth.ConfirmationTag)
	ns.tag = ac.Auth.ConfirmationTag
	ns.secrets, err = newSecretTree(cs, ep, ns.tree.NumLeaves(), opts.SecretTree)
	if err != nil {
		return err
	}
	ns.epoch = ep
	if ns.keys != nil {
		if err := ns.startLeases(); err != nil {
			return err
		}
	}
	// ns.restored stays as it was: only this member's own fresh commit
	// clears it (see [groupState.clearRestored]).
	ns.past = retainPast(old, ns.tree, opts.RetainEpochs)
	st.ep = ep
	return nil
}

// retainPast returns old's retained epochs plus old's current epoch, keeping
// at most retain-1 of them (the new current epoch makes retain); next is
// the new epoch's tree, for the signature keys the commit retires.
func retainPast(old *groupState, next *tree.Tree, retain int) []*pastEpoch {
	if old.epoch == nil {
		return nil // an external joiner has no earlier epoch
	}
	// A past epoch keeps only what late application messages and
	// resumption PSKs need; its init, exporter, external, confirmation and
	// membership secrets are dropped.
	ep := keyschedule.Epoch{
		SenderDataSecret:   old.epoch.SenderDataSecret,
		ResumptionPSK:      old.epoch.ResumptionPSK,
		EpochAuthenticator: old.epoch.EpochAuthenticator,
	}
	past := append(append([]*pastEpoch(nil), old.past...), &pastEpoch{gc: old.gc, epoch: &ep, secrets: old.secrets, retired: retiredKeys(old.tree, next)})
	if n := retain - 1; len(past) > n {
		past = past[len(past)-n:]
	}
	return past
}

// processCommit stages a received commit from a member or an external
// joiner, whose framing and signature were already verified.
func (s *groupState) processCommit(ctx context.Context, ac *wire.AuthenticatedContent, opts Options) (*staged, error) {
	c := ac.Content.Commit
	var extLeaf *wire.LeafNode
	if ac.Content.Sender.SenderType == wire.SenderTypeNewMemberCommit {
		if c.Path == nil {
			return nil, fmt.Errorf("external commit without path: %w", ErrInvalidCommit)
		}
		extLeaf = &c.Path.LeafNode
	}
	st, err := s.stage(ctx, c, ac.Content.Sender, extLeaf, opts)
	if err != nil {
		return nil, err
	}
	if c.Path == nil && pathRequired(st.proposals) {
		return nil, fmt.Errorf("commit without required path: %w", ErrInvalidCommit)
	}
	if c.Path != nil {
		if err := st.receivePath(ctx, c.Path, opts); err != nil {
			return nil, err
		}
	}
	if st.selfRemoved {
		// A removed member cannot derive the new epoch; the commit is
		// authenticated by its signature and membership tag.
		return st, nil
	}
	if err := st.finish(ctx, ac, false, opts); err != nil {
		return nil, err
	}
	return st, nil
}

// mergeOwn stages this member's own pending commit.
func (s *groupState) mergeOwn(ctx context.Context, pc *pendingCommit, opts Options) (*staged, error) {
	var c wire.Commit
	if err := codec.Unmarshal(pc.Commit, &c); err != nil {
		return nil, fmt.Errorf("pending commit: %w: %w", ErrCorrupt, err)
	}
	me := wire.Sender{SenderType: wire.SenderTypeMember, LeafIndex: uint32(s.me())}
	st, err := s.stage(ctx, &c, me, nil, opts)
	if err != nil {
		return nil, err
	}
	if c.Path != nil {
		if err := st.ns.tree.ApplyUpdatePath(st.sender, c.Path); err != nil {
			return nil, fmt.Errorf("apply own path: %w: %w", ErrCorrupt, err)
		}
		var keys tree.PrivateKeys
		if err := codec.Unmarshal(pc.Keys, &keys); err != nil {
			return nil, fmt.Errorf("pending commit keys: %w: %w", ErrCorrupt, err)
		}
		st.ns.keys = &keys
		st.commitSecret = pc.CommitSecret
	}
	st.confirmed = pc.Confirmed
	ac := &wire.AuthenticatedContent{Auth: wire.FramedContentAuthData{ConfirmationTag: pc.Tag}}
	if err := st.finish(ctx, ac, false, opts); err != nil {
		return nil, err
	}
	return st, nil
}

// typedPath maps a path-decryption failure.
func typedPath(err error) error {
	if e := typed(err); e != err {
		return e
	}
	return fmt.Errorf("%w: %w", ErrInvalidCommit, err)
}

// sameExtensions reports whether a and b encode identically.
func sameExtensions(a, b wire.Extensions) bool {
	return bytes.Equal(codec.Marshal(a), codec.Marshal(b))
}
