package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// JoinFromWelcome joins a group from a Welcome message (RFC 9420
// §12.4.3.1) addressed to one of this client's stored KeyPackages.
// ratchetTree is the encoded ratchet tree when the GroupInfo does not carry
// the ratchet_tree extension (nil otherwise). The KeyPackage's private keys
// are deleted in the same batch that stores the group, unless it is a
// last-resort package. With an [Attach] (at most one), the caller's
// components are stored in the same batch.
func (c *Client) JoinFromWelcome(ctx context.Context, welcome, ratchetTree []byte, attach ...Attach) (*Group, error) {
	if len(welcome) > c.opts.MaxMessageSize {
		return nil, fmt.Errorf("join: %d bytes: %w", len(welcome), ErrTooLarge)
	}
	m, err := wire.ParseMLSMessage(welcome, 0)
	if err != nil {
		return nil, fmt.Errorf("join: %w", typed(err))
	}
	if m.Welcome == nil {
		return nil, fmt.Errorf("join: message is not a welcome: %w", ErrMalformed)
	}
	cs, err := c.opts.Suites.Get(suite.ID(m.Welcome.CipherSuite))
	if err != nil {
		return nil, fmt.Errorf("join: %w", typed(err))
	}
	var sec *keyPackageSecrets
	var ref []byte
	for _, s := range m.Welcome.Secrets {
		sec, err = c.loadKeyPackage(ctx, s.NewMember)
		if err == nil {
			ref = s.NewMember
			break
		}
		if !errors.Is(err, ErrNoKeyPackage) {
			return nil, fmt.Errorf("join: %w", err)
		}
	}
	if sec == nil {
		return nil, fmt.Errorf("join: %w", ErrNoKeyPackage)
	}
	kp, kpBytes, err := decodeKeyPackage(sec.KeyPackage)
	if err != nil {
		return nil, fmt.Errorf("join: stored key package: %w: %w", ErrCorrupt, err)
	}
	sigPriv, sigPub, puts := sec.SigPriv, kp.LeafNode.SignatureKey, []Put(nil)
	if sigPriv == nil {
		// The KeyPackage presents a basic credential with the stored key.
		if sigPriv, sigPub, puts, err = c.basicSignatureKey(ctx, cs); err != nil {
			return nil, fmt.Errorf("join: %w", err)
		}
	}
	if !bytes.Equal(sigPub, kp.LeafNode.SignatureKey) {
		return nil, fmt.Errorf("join: the stored signature key is not the KeyPackage's: %w", ErrCorrupt)
	}
	s, err := joinFromWelcome(ctx, joinInput{
		cs: cs, welcome: m.Welcome, kp: kp, kpBytes: kpBytes,
		initPriv: sec.InitPriv, leafPriv: sec.LeafPriv, sigPriv: sigPriv,
		ratchetTree: ratchetTree, psks: externalOnly(c.opts.PSKs), opts: c.opts,
	})
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	var dels []Key
	if !sec.LastResort {
		dels = append(dels, Key{Kind: KindKeys, Name: keyPackageName(ref)})
	}
	return newStoredGroup(ctx, c.st, s, c.opts, "JoinFromWelcome", false, newAttachCall(attach), Batch{Puts: puts, Deletes: dels})
}
