package engine

import (
	"context"
	"fmt"
	"io"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/framing"
	"github.com/mlsbackup/mlsbackup/engine/keyschedule"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// groupIDSize is the length of a random group id.
const groupIDSize = 32

// CreateGroup creates a new one-member group (RFC 9420 §11) with suite id
// and stores it. A nil groupID picks a random one. With an [Attach] (at
// most one), the caller's components are stored in the same batch.
func (c *Client) CreateGroup(ctx context.Context, id suite.ID, groupID []byte, attach ...Attach) (*Group, error) {
	cs, err := c.opts.Suites.Get(id)
	if err != nil {
		return nil, fmt.Errorf("create group: %w", typed(err))
	}
	if groupID == nil {
		groupID = make([]byte, groupIDSize)
		if _, err := io.ReadFull(c.opts.Rand, groupID); err != nil {
			return nil, fmt.Errorf("create group: group id: %w", err)
		}
	}
	kp, sec, sigPriv, puts, err := c.newKeyPackage(ctx, cs)
	if err != nil {
		return nil, fmt.Errorf("create group: %w", err)
	}
	t := tree.New(cs, &kp.LeafNode)
	gc := wire.GroupContext{
		Version:                 wire.ProtocolVersionMLS10,
		CipherSuite:             wire.CipherSuite(id),
		GroupID:                 append([]byte(nil), groupID...),
		Epoch:                   0,
		TreeHash:                t.TreeHash(),
		ConfirmedTranscriptHash: []byte{},
		Extensions:              wire.Extensions{},
	}
	initSecret := make([]byte, cs.Nh())
	if _, err := io.ReadFull(c.opts.Rand, initSecret); err != nil {
		return nil, fmt.Errorf("create group: init secret: %w", err)
	}
	ep, err := keyschedule.Next(cs, initSecret, make([]byte, cs.Nh()), nil, codec.Marshal(gc))
	if err != nil {
		return nil, fmt.Errorf("create group: key schedule: %w", err)
	}
	secrets, err := newSecretTree(cs, ep, t.NumLeaves(), c.opts.SecretTree)
	if err != nil {
		return nil, fmt.Errorf("create group: %w", err)
	}
	ep.Forget()
	tag := framing.ConfirmationTag(cs, ep.ConfirmationKey, gc.ConfirmedTranscriptHash)
	s := &groupState{
		cs:      cs,
		gc:      gc,
		interim: framing.InterimTranscriptHash(cs, gc.ConfirmedTranscriptHash, tag),
		tag:     tag,
		tree:    t,
		keys:    tree.NewPrivateKeys(0, tree.KeyPair{Priv: sec.LeafPriv, Pub: kp.LeafNode.EncryptionKey}),
		sigPriv: sigPriv,
		epoch:   ep,
		secrets: secrets,
		ids:     newIdentityCache(),
	}
	t.Mark()
	secrets.TakeChanges()
	return newStoredGroup(ctx, c.st, s, c.opts, "CreateGroup", false, newAttachCall(attach), Batch{Puts: puts})
}
