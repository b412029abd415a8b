package engine

import (
	"context"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/framing"
	"github.com/mlsbackup/mlsbackup/engine/secrettree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// Encrypt protects application data as a PrivateMessage (RFC 9420 §6.3)
// and returns the MLSMessage to send. The ratchet generation it uses is
// durable before the ciphertext is returned: generations are leased in
// blocks of [Options.LeaseBlock], so only one message per block writes.
// A restored member (see [ErrRestoredEpoch]) cannot encrypt. With an
// [Attach] (at most one), the message is stored with its generation in
// one batch.
func (g *Group) Encrypt(ctx context.Context, data, authenticatedData []byte, attach ...Attach) ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.usable(); err != nil {
		return nil, err
	}
	g.call = newAttachCall(attach)
	defer func() { g.call = nil }()
	s := g.s
	if s.restored {
		return nil, fmt.Errorf("encrypt in epoch %d: %w", s.gc.Epoch, ErrRestoredEpoch)
	}
	me := uint32(s.me())
	if authenticatedData == nil {
		authenticatedData = []byte{}
	}
	content := &wire.FramedContent{GroupID: s.gc.GroupID, Epoch: s.gc.Epoch, Sender: wire.Sender{SenderType: wire.SenderTypeMember, LeafIndex: me},
		AuthenticatedData: authenticatedData, ContentType: wire.ContentTypeApplication, ApplicationData: data}
	// Signing and the secret-tree step run one after the other: handing
	// the short step to the other CPU saved a few µs at best on an idle
	// machine and cost more whenever the CPUs were shared (measured).
	ac, err := framing.Sign(s.cs, s.sigPriv, wire.WireFormatPrivateMessage, content, &s.gc)
	if err != nil {
		return nil, fmt.Errorf("encrypt: sign: %w", err)
	}
	ns := *s
	ns.secrets = s.secrets.Clone()
	secret, write, err := g.nextApplicationSecret(&ns, me)
	if err != nil {
		return nil, err
	}
	pm, err := framing.ProtectPrivate(s.cs, s.epoch.SenderDataSecret, ac, secret, g.opts.PaddingBlock, g.opts.Rand)
	if err != nil {
		return nil, fmt.Errorf("encrypt: protect: %w", err)
	}
	msg := codec.MarshalSize(wire.MLSMessage{Version: wire.ProtocolVersionMLS10, WireFormat: wire.WireFormatPrivateMessage, PrivateMessage: pm}, 4+pm.EncodedLen())
	if out := g.call.outcome(); out != nil {
		out.Message = msg
	}
	if write || g.call.active() {
		if err := g.commitEpoch(ctx, "Encrypt", &ns); err != nil {
			return nil, err
		}
	} else {
		g.s = &ns
	}
	return msg, nil
}

// nextApplicationSecret advances this member's application ratchet in ns
// (whose secret tree must be a private copy) and extends the generation
// lease if the generation reaches it; write reports that the lease changed
// and must be stored before the message is released.
func (g *Group) nextApplicationSecret(ns *groupState, me uint32) (secret framing.RatchetSecret, write bool, err error) {
	write, err = ns.extendLease(me, secrettree.Application, g.opts.LeaseBlock)
	if err != nil {
		return secret, false, fmt.Errorf("encrypt: %w", err)
	}
	secret, err = framing.NextSecret(ns.secrets, me, wire.ContentTypeApplication)
	if err != nil {
		return secret, false, fmt.Errorf("encrypt: %w", err)
	}
	return secret, write, nil
}

// The generation leases (RFC 9420 §9.2 at rest). A member's stored ratchet
// record holds its own ratchets advanced past every generation it leased
// ([secrettree.Tree.Reserve]): the leased generations live only in memory,
// so what is stored never yields the key of a message it sent, and a
// group loaded after a crash resumes past them (unused ones are lost, none
// is used twice). An epoch starts with nothing leased: the member's first
// message of the epoch leases the first block, in the batch stored before
// the message is returned (the agent's outbox stores one per message
// anyway), so that entering an epoch — every member, for every commit —
// costs no derivation of generations the member may never use.

// startLeases starts the epoch s has just entered with nothing leased and
// derives this member's leaf's ratchets from the secret tree (the nodes
// above it replaced by their other children, §9.2), in the batch that
// enters the epoch: no stored node secret then lies on the member's path,
// and a snapshot can export the member's own ratchets spent.
func (s *groupState) startLeases() error {
	s.lease = [2]uint32{}
	if err := s.secrets.DeriveLeaf(uint32(s.me())); err != nil {
		return fmt.Errorf("derive own ratchets: %w", err)
	}
	return nil
}

// extendLease leases a new block of this member's generations of ct in s
// (whose secret tree must be a private copy) if its next generation
// reaches the lease; write reports that it did, and that the ratchet's
// record must be stored before a message of the new block is released.
func (s *groupState) extendLease(me uint32, ct secrettree.ContentType, block uint32) (write bool, err error) {
	gen, err := s.secrets.Generation(me, ct)
	if err != nil {
		return false, err
	}
	if gen < uint64(s.lease[ct]) {
		return false, nil
	}
	s.lease[ct] = uint32(min(gen+uint64(block), 1<<32-1))
	if err := s.secrets.Reserve(me, ct, s.lease[ct]); err != nil {
		return false, err
	}
	return true, nil
}
