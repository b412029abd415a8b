package engine

import (
	"context"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/framing"
	"github.com/mlsbackup/mlsbackup/engine/keyschedule"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// JoinByExternalCommit joins a group from its GroupInfo (an MLSMessage from
// [Group.GroupInfo]) with an external commit (RFC 9420 §12.4.3.2).
// ratchetTree is the encoded tree when the GroupInfo carries no
// ratchet_tree extension. If resyncLeaf is not nil, the commit also removes
// that leaf (this client's earlier membership, to re-join after losing its
// state). The joiner checks its commit as every member will, before it
// stores anything: a group whose extensions or required capabilities this
// client does not support is refused with [ErrUnsupported], and a commit
// the members would reject (such as a Remove of another client's leaf)
// with the error they would give. The new group is stored, replacing any
// state this client still holds for the group, and returned with the
// commit to send to the members; it is already in the new epoch. With an
// [Attach] (at most one), the caller's components (the commit to deliver)
// are stored in the same batch.
func (c *Client) JoinByExternalCommit(ctx context.Context, groupInfo, ratchetTree []byte, resyncLeaf *uint32, attach ...Attach) (*Group, []byte, error) {
	if len(groupInfo) > c.opts.MaxMessageSize {
		return nil, nil, fmt.Errorf("external join: %d bytes: %w", len(groupInfo), ErrTooLarge)
	}
	m, err := wire.ParseMLSMessage(groupInfo, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("external join: %w", typed(err))
	}
	gi := m.GroupInfo
	if gi == nil {
		return nil, nil, fmt.Errorf("external join: message is not a group info: %w", ErrMalformed)
	}
	cs, err := c.opts.Suites.Get(suite.ID(gi.GroupContext.CipherSuite))
	if err != nil {
		return nil, nil, fmt.Errorf("external join: %w", typed(err))
	}
	t, err := treeFromGroupInfo(ctx, cs, gi, ratchetTree, c.opts, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("external join: %w", err)
	}
	extPub, ok := gi.Extensions.Find(wire.ExtensionExternalPub)
	if !ok {
		return nil, nil, fmt.Errorf("external join: group info has no external_pub: %w", ErrInvalidWelcome)
	}
	var ep wire.ExternalPub
	if err := codec.Unmarshal(extPub, &ep); err != nil {
		return nil, nil, fmt.Errorf("external join: external_pub: %w", typed(err))
	}
	kemOutput, initSecret, err := keyschedule.ExternalInit(cs, ep.ExternalPub)
	if err != nil {
		return nil, nil, fmt.Errorf("external join: %w", typed(err))
	}
	kp, _, sigPriv, puts, err := c.newKeyPackage(ctx, cs)
	if err != nil {
		return nil, nil, fmt.Errorf("external join: %w", err)
	}
	leaf := &kp.LeafNode
	if err := c.supports(leaf, gi.GroupContext.Extensions); err != nil {
		return nil, nil, fmt.Errorf("external join: %w", err)
	}
	s0 := &groupState{
		cs:      cs,
		gc:      gi.GroupContext,
		interim: framing.InterimTranscriptHash(cs, gi.GroupContext.ConfirmedTranscriptHash, gi.ConfirmationTag),
		tree:    t,
		sigPriv: sigPriv,
		ids:     newIdentityCache(),
	}
	commit := &wire.Commit{Proposals: []wire.ProposalOrRef{byValue(wire.Proposal{ProposalType: wire.ProposalTypeExternalInit, ExternalInit: &wire.ExternalInit{KEMOutput: kemOutput}})}}
	if resyncLeaf != nil {
		commit.Proposals = append(commit.Proposals, byValue(wire.Proposal{ProposalType: wire.ProposalTypeRemove, Remove: &wire.Remove{Removed: *resyncLeaf}}))
	}
	sender := wire.Sender{SenderType: wire.SenderTypeNewMemberCommit}
	st, err := s0.stage(ctx, commit, sender, leaf, c.opts)
	if err != nil {
		return nil, nil, fmt.Errorf("external join: %w", err)
	}
	st.initSecret = initSecret
	path, err := st.ns.tree.CreateUpdatePath(tree.PathParams{
		Sender:        st.sender,
		Leaf:          leaf,
		SignaturePriv: sigPriv,
		GroupID:       gi.GroupContext.GroupID,
		GroupContext:  func(th []byte) ([]byte, error) { return st.provisionalContext(th), nil },
	})
	if err != nil {
		return nil, nil, fmt.Errorf("external join: update path: %w", err)
	}
	// The leaf as signed for the commit, checked as the members will.
	if err := st.checkPathLeaf(&path.Path.LeafNode, c.opts); err != nil {
		return nil, nil, fmt.Errorf("external join: %w", err)
	}
	commit.Path = path.Path
	st.ns.keys = path.Keys
	st.commitSecret = path.CommitSecret
	content := &wire.FramedContent{GroupID: gi.GroupContext.GroupID, Epoch: gi.GroupContext.Epoch, Sender: sender, AuthenticatedData: []byte{}, ContentType: wire.ContentTypeCommit, Commit: commit}
	ac, err := framing.Sign(cs, sigPriv, wire.WireFormatPublicMessage, content, &s0.gc)
	if err != nil {
		return nil, nil, fmt.Errorf("external join: sign: %w", err)
	}
	if err := st.finish(ctx, ac, true, c.opts); err != nil {
		return nil, nil, fmt.Errorf("external join: %w", err)
	}
	pm, err := framing.ProtectPublic(cs, nil, ac, &s0.gc)
	if err != nil {
		return nil, nil, fmt.Errorf("external join: protect: %w", err)
	}
	st.ep.Forget()
	st.ns.tree.Mark()
	st.ns.secrets.TakeChanges()
	msg := codec.Marshal(wire.MLSMessage{Version: wire.ProtocolVersionMLS10, WireFormat: wire.WireFormatPublicMessage, PublicMessage: pm})
	call := newAttachCall(attach)
	if out := call.outcome(); out != nil {
		out.Message = msg
	}
	g, err := newStoredGroup(ctx, c.st, st.ns, c.opts, "JoinByExternalCommit", true, call, Batch{Puts: puts})
	if err != nil {
		return nil, nil, err
	}
	return g, msg, nil
}
