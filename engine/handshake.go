package engine

import (
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/framing"
	"github.com/mlsbackup/mlsbackup/engine/secrettree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// handshakeWireFormat is the wire format of this group's proposals and
// commits.
func (g *Group) handshakeWireFormat() wire.WireFormat {
	if g.opts.PrivateHandshake {
		return wire.WireFormatPrivateMessage
	}
	return wire.WireFormatPublicMessage
}

// protectHandshake frames signed handshake content ac of state s as an
// MLSMessage. A PrivateMessage uses the next generation of this member's
// handshake ratchet in ns (a copy of s the caller persists), extending the
// stored lease when needed; it is refused in a restored epoch.
func (g *Group) protectHandshake(s, ns *groupState, ac *wire.AuthenticatedContent) ([]byte, error) {
	if ac.WireFormat == wire.WireFormatPublicMessage {
		pm, err := framing.ProtectPublic(s.cs, s.epoch.MembershipKey, ac, &s.gc)
		if err != nil {
			return nil, fmt.Errorf("protect: %w", err)
		}
		return codec.Marshal(wire.MLSMessage{Version: wire.ProtocolVersionMLS10, WireFormat: wire.WireFormatPublicMessage, PublicMessage: pm}), nil
	}
	if s.restored {
		return nil, fmt.Errorf("private handshake in epoch %d: %w", s.gc.Epoch, ErrRestoredEpoch)
	}
	me := uint32(s.me())
	ns.secrets = s.secrets.Clone()
	if _, err := ns.extendLease(me, secrettree.Handshake, g.opts.LeaseBlock); err != nil {
		return nil, fmt.Errorf("protect: %w", err)
	}
	secret, err := framing.NextSecret(ns.secrets, me, ac.Content.ContentType)
	if err != nil {
		return nil, fmt.Errorf("protect: %w", err)
	}
	pm, err := framing.ProtectPrivate(s.cs, s.epoch.SenderDataSecret, ac, secret, g.opts.PaddingBlock, g.opts.Rand)
	if err != nil {
		return nil, fmt.Errorf("protect: %w", err)
	}
	return codec.Marshal(wire.MLSMessage{Version: wire.ProtocolVersionMLS10, WireFormat: wire.WireFormatPrivateMessage, PrivateMessage: pm}), nil
}
