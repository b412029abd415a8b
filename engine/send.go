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
	gen, err := ns.secrets.Generation(me, secrettree.Application)
	if err != nil {
		return secret, false, fmt.Errorf("encrypt: %w", err)
	}
	write = gen >= uint64(ns.lease[1])
	if write {
		ns.lease[1] = uint32(min(gen+uint64(g.opts.LeaseBlock), 1<<32-1))
	}
	secret, err = framing.NextSecret(ns.secrets, me, wire.ContentTypeApplication)
	if err != nil {
		return secret, false, fmt.Errorf("encrypt: %w", err)
	}
	return secret, write, nil
}
