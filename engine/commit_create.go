package engine

import (
	"context"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/framing"
	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// CommitOptions says what a commit does besides committing the cached
// proposals of the epoch.
type CommitOptions struct {
	// Add lists KeyPackages (MLSMessage or bare encoding) to add.
	Add [][]byte
	// Remove lists leaf indices to remove.
	Remove []uint32
	// ExternalPSKs lists ids of external PSKs (from [Options.PSKs]) to
	// inject.
	ExternalPSKs [][]byte
	// SelfUpdate forces an UpdatePath even when the proposals do not
	// require one, refreshing this member's leaf and path keys.
	SelfUpdate bool
	// ExternalSenders, if not nil, replaces the group's external_senders
	// extension (RFC 9420 §12.1.8.1) through a GroupContextExtensions
	// proposal; other group context extensions are kept.
	ExternalSenders []ExternalSender
	// RequiredCapabilities, if not nil, replaces the group's
	// required_capabilities extension (RFC 9420 §11.1) through a
	// GroupContextExtensions proposal (the same one as ExternalSenders');
	// every member must support what it requires.
	RequiredCapabilities *RequiredCapabilities
	// NoRatchetTree leaves the ratchet_tree extension out of the
	// GroupInfo in the Welcome (RFC 9420 §12.4.3.3), as
	// [Options.OmitRatchetTree] does for every commit: the new members
	// need the tree out of band, and [CommitOutput.RatchetTree] holds it.
	NoRatchetTree bool
	// Merge creates the commit and merges it in one batch: the group is in
	// the new epoch when Commit returns, and no pending commit is ever
	// stored, so no crash can leave one behind. The caller must then
	// deliver the commit (store it with Attach so that a crash cannot lose
	// it).
	Merge bool
	// Attach, if set, stores the caller's components in the commit's batch
	// (see [Attach]); the [Outcome] carries the commit and Welcome.
	Attach Attach
}

// CommitOutput is what a created commit produces.
type CommitOutput struct {
	// Commit is the MLSMessage to send to the group: a PublicMessage, or a
	// PrivateMessage with [Options.PrivateHandshake].
	Commit []byte
	// Welcome is the MLSMessage for the added members, nil if none.
	Welcome []byte
	// RatchetTree is the encoded ratchet tree of the new epoch when the
	// Welcome leaves it out ([CommitOptions.NoRatchetTree]): the new
	// members need it, delivered out of band, to join.
	RatchetTree []byte
	// Epoch is the epoch the commit leads to once merged.
	Epoch uint64
}

// Commit creates a commit (RFC 9420 §12.4) covering the epoch's cached
// proposals (by reference) and the adds, removes and PSKs of o (by value).
// Unless o.Merge, it does not change the group: the commit is stored as
// pending and takes effect with [Group.MergePendingCommit] (or when it
// comes back through [Group.Process]); [Group.ClearPendingCommit] drops it.
// Fails with [ErrPendingCommit] if a commit is already pending.
func (g *Group) Commit(ctx context.Context, o CommitOptions) (*CommitOutput, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.usable(); err != nil {
		return nil, err
	}
	g.call = newAttachCall([]Attach{o.Attach})
	defer func() { g.call = nil }()
	s := g.s
	if s.pending != nil {
		return nil, fmt.Errorf("commit: %w", ErrPendingCommit)
	}
	c := &wire.Commit{}
	forcePath, wf := g.commitWhileRestored(s, o.SelfUpdate)
	for _, cp := range s.proposals {
		if cp.Sender.SenderType == wire.SenderTypeMember && cp.Sender.LeafIndex == uint32(s.me()) && cp.Proposal.ProposalType == wire.ProposalTypeUpdate {
			forcePath = true // our own update is superseded by the path
			continue
		}
		c.Proposals = append(c.Proposals, wire.ProposalOrRef{Type: wire.ProposalOrRefTypeReference, Reference: cp.Ref})
	}
	for _, b := range o.Add {
		kp, _, err := decodeKeyPackage(b)
		if err != nil {
			return nil, fmt.Errorf("commit: %w", err)
		}
		c.Proposals = append(c.Proposals, byValue(wire.Proposal{ProposalType: wire.ProposalTypeAdd, Add: &wire.Add{KeyPackage: *kp}}))
	}
	for _, l := range o.Remove {
		c.Proposals = append(c.Proposals, byValue(wire.Proposal{ProposalType: wire.ProposalTypeRemove, Remove: &wire.Remove{Removed: l}}))
	}
	for _, id := range o.ExternalPSKs {
		nonce := make([]byte, s.cs.Nh())
		if _, err := g.opts.Rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("commit: psk nonce: %w", err)
		}
		psk := wire.PreSharedKeyID{PSKType: wire.PSKTypeExternal, PSKID: id, PSKNonce: nonce}
		c.Proposals = append(c.Proposals, byValue(wire.Proposal{ProposalType: wire.ProposalTypePSK, PreSharedKey: &wire.PreSharedKey{PSK: psk}}))
	}
	if p, ok := contextExtensionsProposal(s.gc.Extensions, o); ok {
		c.Proposals = append(c.Proposals, byValue(p))
	}
	me := wire.Sender{SenderType: wire.SenderTypeMember, LeafIndex: uint32(s.me())}
	st, err := s.stage(ctx, c, me, nil, g.opts)
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	if st.selfRemoved {
		return nil, fmt.Errorf("commit: committer removes itself: %w", ErrInvalidCommit)
	}
	var path *tree.PathResult
	if forcePath || pathRequired(st.proposals) {
		path, err = st.ns.tree.CreateUpdatePath(tree.PathParams{
			Sender:        s.me(),
			Leaf:          s.tree.Leaf(s.me()),
			SignaturePriv: s.sigPriv,
			GroupID:       s.gc.GroupID,
			Exclude:       st.added,
			GroupContext:  func(th []byte) ([]byte, error) { return st.provisionalContext(th), nil },
		})
		if err != nil {
			return nil, fmt.Errorf("commit: update path: %w", err)
		}
		c.Path = path.Path
		st.ns.keys = path.Keys
		st.commitSecret = path.CommitSecret
	}
	content := &wire.FramedContent{GroupID: s.gc.GroupID, Epoch: s.gc.Epoch, Sender: me, AuthenticatedData: []byte{}, ContentType: wire.ContentTypeCommit, Commit: c}
	ac, err := framing.Sign(s.cs, s.sigPriv, wf, content, &s.gc)
	if err != nil {
		return nil, fmt.Errorf("commit: sign: %w", err)
	}
	if err := st.finish(ctx, ac, true, g.opts); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	ns := *s
	msg, err := g.protectHandshake(s, &ns, ac)
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	out := &CommitOutput{Epoch: st.ns.gc.Epoch, Commit: msg}
	if len(st.added) > 0 {
		withTree := !o.NoRatchetTree && !g.opts.OmitRatchetTree
		if out.Welcome, err = st.welcome(path, withTree); err != nil {
			return nil, fmt.Errorf("commit: %w", err)
		}
		if !withTree {
			out.RatchetTree = st.ns.tree.Encode()
		}
	}
	pc := &pendingCommit{
		Commit:       strippedCommit(c),
		Digest:       s.cs.Hash(codec.Marshal(*ac)),
		Confirmed:    st.ns.gc.ConfirmedTranscriptHash,
		Tag:          ac.Auth.ConfirmationTag,
		CommitSecret: st.commitSecret,
	}
	if path != nil {
		pc.Keys = codec.Marshal(path.Keys)
	}
	if call := g.call.outcome(); call != nil {
		call.Message, call.Welcome, call.RatchetTree = out.Commit, out.Welcome, out.RatchetTree
	}
	if o.Merge {
		// The epoch the commit retires is ns: s with this commit's
		// handshake generation used, if it went out as a PrivateMessage.
		st.ns.past = retainPast(&ns, st.ns.tree, g.opts.RetainEpochs)
		st.mergeOwnRestored(pc)
		if call := g.call.outcome(); call != nil {
			call.Commit = st.info()
		}
		if err := g.enter(ctx, "CreateAndMergeCommit", st); err != nil {
			return nil, err
		}
		g.staged, g.stagedBase = nil, nil
		return out, nil
	}
	ns.pending = pc
	if err := g.commitState(ctx, "CreateCommit", &ns); err != nil {
		return nil, err
	}
	g.staged, g.stagedBase = st, g.s
	return out, nil
}

func byValue(p wire.Proposal) wire.ProposalOrRef {
	return wire.ProposalOrRef{Type: wire.ProposalOrRefTypeProposal, Proposal: &p}
}

// MergePendingCommit applies this member's pending commit: the group enters
// the new epoch. It returns the commit's membership changes.
func (g *Group) MergePendingCommit(ctx context.Context) (*CommitInfo, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.usable(); err != nil {
		return nil, err
	}
	s := g.s
	if s.pending == nil {
		return nil, fmt.Errorf("merge: %w", ErrNoPendingCommit)
	}
	st := g.staged
	if st == nil || g.stagedBase != s {
		var err error
		if st, err = s.mergeOwn(ctx, s.pending, g.opts); err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
	} else {
		// The staged commit was computed before the pending commit was
		// framed; the epoch it retires is the current one, as stored now.
		st.ns.past = retainPast(s, st.ns.tree, g.opts.RetainEpochs)
	}
	st.mergeOwnRestored(s.pending)
	if err := g.enter(ctx, "MergeCommit", st); err != nil {
		return nil, err
	}
	g.staged, g.stagedBase = nil, nil
	return st.info(), nil
}

// ClearPendingCommit discards this member's pending commit.
func (g *Group) ClearPendingCommit(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.usable(); err != nil {
		return err
	}
	if g.s.pending == nil {
		return nil
	}
	ns := *g.s
	ns.pending = nil
	if err := g.commitState(ctx, "ClearPendingCommit", &ns); err != nil {
		return err
	}
	g.staged, g.stagedBase = nil, nil
	return nil
}
