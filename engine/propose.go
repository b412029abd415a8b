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
	return g.propose(ctx, func(*groupState) (wire.Proposal, []byte, error) {
		return wire.Proposal{ProposalType: wire.ProposalTypeAdd, Add: &wire.Add{KeyPackage: *kp}}, nil, nil
	})
}

// ProposeRemove creates a Remove proposal for the member at leaf.
func (g *Group) ProposeRemove(ctx context.Context, leaf uint32) ([]byte, error) {
	return g.propose(ctx, func(*groupState) (wire.Proposal, []byte, error) {
		return wire.Proposal{ProposalType: wire.ProposalTypeRemove, Remove: &wire.Remove{Removed: leaf}}, nil, nil
	})
}

// ProposeUpdate creates an Update proposal with a fresh leaf encryption
// key. The new private key is kept with the cached proposal until a commit
// by another member applies it.
func (g *Group) ProposeUpdate(ctx context.Context) ([]byte, error) {
	return g.propose(ctx, func(s *groupState) (wire.Proposal, []byte, error) {
		priv, pub, err := s.cs.GenerateKeyPair()
		if err != nil {
			return wire.Proposal{}, nil, fmt.Errorf("update key: %w", err)
		}
		leaf := *s.tree.Leaf(s.me())
		leaf.EncryptionKey = pub
		leaf.LeafNodeSource = wire.LeafNodeSourceUpdate
		leaf.Lifetime = wire.Lifetime{}
		leaf.ParentHash = nil
		leaf.Signature, err = s.cs.SignWithLabel(s.sigPriv, labelLeafNodeTBS, leaf.TBS(s.gc.GroupID, uint32(s.me())))
		if err != nil {
			return wire.Proposal{}, nil, fmt.Errorf("sign leaf: %w", err)
		}
		return wire.Proposal{ProposalType: wire.ProposalTypeUpdate, Update: &wire.Update{LeafNode: leaf}}, priv, nil
	})
}

// propose builds a proposal with build (under the group lock), frames
// it, caches it and persists the cache.
func (g *Group) propose(ctx context.Context, build func(*groupState) (wire.Proposal, []byte, error)) ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.usable(); err != nil {
		return nil, err
	}
	s := g.s
	if s.pending != nil {
		return nil, fmt.Errorf("propose: %w", ErrPendingCommit)
	}
	p, leafPriv, err := build(s)
	if err != nil {
		return nil, fmt.Errorf("propose: %w", err)
	}
	me := wire.Sender{SenderType: wire.SenderTypeMember, LeafIndex: uint32(s.me())}
	if err := s.checkProposal(ctx, -1, &p, me, g.opts); err != nil {
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
