package engine

import (
	"context"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/framing"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// ProposeAdd creates an Add proposal for keyPackage, caches it for the
// epoch and returns it as an MLSMessage to send (a PublicMessage, or a
// PrivateMessage with [Options.PrivateHandshake]).
func (g *Group) ProposeAdd(ctx context.Context, keyPackage []byte) ([]byte, error) {
	kp, _, err := decodeKeyPackage(keyPackage)
	if err != nil {
		return nil, fmt.Errorf("propose add: %w", err)
	}
	return g.propose(ctx, wire.Proposal{ProposalType: wire.ProposalTypeAdd, Add: &wire.Add{KeyPackage: *kp}}, nil)
}

// ProposeRemove creates a Remove proposal for the member at leaf.
func (g *Group) ProposeRemove(ctx context.Context, leaf uint32) ([]byte, error) {
	return g.propose(ctx, wire.Proposal{ProposalType: wire.ProposalTypeRemove, Remove: &wire.Remove{Removed: leaf}}, nil)
}

// ProposeUpdate creates an Update proposal with a fresh leaf encryption
// key. The new private key is kept with the cached proposal until a commit
// by another member applies it.
func (g *Group) ProposeUpdate(ctx context.Context) ([]byte, error) {
	g.mu.Lock()
	s := g.s
	g.mu.Unlock()
	priv, pub, err := s.cs.GenerateKeyPair()
	if err != nil {
		return nil, fmt.Errorf("propose update: %w", err)
	}
	leaf := *s.tree.Leaf(s.me())
	leaf.EncryptionKey = pub
	leaf.LeafNodeSource = wire.LeafNodeSourceUpdate
	leaf.Lifetime = wire.Lifetime{}
	leaf.ParentHash = nil
	leaf.Signature, err = s.cs.SignWithLabel(s.sigPriv, labelLeafNodeTBS, leaf.TBS(s.gc.GroupID, uint32(s.me())))
	if err != nil {
		return nil, fmt.Errorf("propose update: sign leaf: %w", err)
	}
	return g.propose(ctx, wire.Proposal{ProposalType: wire.ProposalTypeUpdate, Update: &wire.Update{LeafNode: leaf}}, priv)
}

func (g *Group) propose(ctx context.Context, p wire.Proposal, leafPriv []byte) ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.usable(); err != nil {
		return nil, err
	}
	s := g.s
	if s.pending != nil {
		return nil, fmt.Errorf("propose: %w", ErrPendingCommit)
	}
	me := wire.Sender{SenderType: wire.SenderTypeMember, LeafIndex: uint32(s.me())}
	if err := s.checkProposal(-1, &p, me, g.opts); err != nil {
		return nil, fmt.Errorf("propose: %w", err)
	}
	content := &wire.FramedContent{GroupID: s.gc.GroupID, Epoch: s.gc.Epoch, Sender: me, AuthenticatedData: []byte{}, ContentType: wire.ContentTypeProposal, Proposal: &p}
	ac, err := framing.Sign(s.cs, s.sigPriv, g.handshakeWireFormat(), content, &s.gc)
	if err != nil {
		return nil, fmt.Errorf("propose: sign: %w", err)
	}
	ns := *s
	msg, err := g.protectHandshake(s, &ns, ac)
	if err != nil {
		return nil, fmt.Errorf("propose: %w", err)
	}
	ns.proposals = append(append([]cachedProposal(nil), s.proposals...), cachedProposal{Ref: s.proposalRef(ac), Proposal: p, Sender: me, LeafPriv: leafPriv})
	if err := g.commitState(ctx, "Propose", &ns); err != nil {
		return nil, err
	}
	return msg, nil
}
