package engine

import (
	"bytes"
	"context"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/framing"
	"github.com/mlsbackup/mlsbackup/engine/keyschedule"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// joinInput is what a new member needs to join from a Welcome.
type joinInput struct {
	cs       *suite.Suite
	welcome  *wire.Welcome
	kp       *wire.KeyPackage
	kpBytes  []byte
	initPriv []byte
	leafPriv []byte
	sigPriv  []byte
	// ratchetTree is an out-of-band encoded ratchet tree, used when the
	// GroupInfo has no ratchet_tree extension.
	ratchetTree []byte
	psks        pskSource
	opts        Options
}

// openWelcome decrypts the GroupSecrets addressed to the KeyPackage ref and
// the GroupInfo (RFC 9420 §12.4.3.1), checks the GroupInfo's confirmation
// tag and returns both with the epoch's secrets and the psk secret.
func openWelcome(ctx context.Context, cs *suite.Suite, w *wire.Welcome, kpRef, initPriv []byte, psks pskSource) (*wire.GroupSecrets, *wire.GroupInfo, *keyschedule.Epoch, error) {
	if w.CipherSuite != wire.CipherSuite(cs.ID()) {
		return nil, nil, nil, fmt.Errorf("welcome suite %#04x, key package %#04x: %w", uint16(w.CipherSuite), uint16(cs.ID()), ErrInvalidWelcome)
	}
	var egs *wire.EncryptedGroupSecrets
	for i := range w.Secrets {
		if bytes.Equal(w.Secrets[i].NewMember, kpRef) {
			egs = &w.Secrets[i]
			break
		}
	}
	if egs == nil {
		return nil, nil, nil, fmt.Errorf("welcome has no secrets for key package %x: %w", kpRef, ErrNoKeyPackage)
	}
	pt, err := cs.DecryptWithLabel(initPriv, labelWelcome, w.EncryptedGroupInfo, egs.EncryptedGroupSecrets.KEMOutput, egs.EncryptedGroupSecrets.Ciphertext)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("decrypt group secrets: %w", typed(err))
	}
	var gs wire.GroupSecrets
	if err := codec.Unmarshal(pt, &gs); err != nil {
		return nil, nil, nil, fmt.Errorf("decode group secrets: %w", typed(err))
	}
	if len(gs.JoinerSecret) != cs.Nh() {
		return nil, nil, nil, fmt.Errorf("joiner secret of %d bytes: %w", len(gs.JoinerSecret), ErrInvalidWelcome)
	}
	if err := checkPSKIDs(cs, gs.PSKs); err != nil {
		return nil, nil, nil, err
	}
	psk, err := pskSecret(ctx, cs, gs.PSKs, psks)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("welcome psks: %w", err)
	}
	key, nonce := keyschedule.WelcomeKeyNonce(cs, keyschedule.WelcomeSecret(cs, gs.JoinerSecret, psk))
	giBytes, err := cs.Open(key, nonce, nil, w.EncryptedGroupInfo)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("decrypt group info: %w", typed(err))
	}
	var gi wire.GroupInfo
	if err := codec.Unmarshal(giBytes, &gi); err != nil {
		return nil, nil, nil, fmt.Errorf("decode group info: %w", typed(err))
	}
	if gi.GroupContext.CipherSuite != w.CipherSuite || gi.GroupContext.Version != wire.ProtocolVersionMLS10 {
		return nil, nil, nil, fmt.Errorf("group info suite or version mismatch: %w", ErrInvalidWelcome)
	}
	ep, err := keyschedule.FromJoiner(cs, gs.JoinerSecret, psk, codec.Marshal(gi.GroupContext))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("key schedule: %w", err)
	}
	if err := framing.VerifyConfirmationTag(cs, ep.ConfirmationKey, gi.GroupContext.ConfirmedTranscriptHash, gi.ConfirmationTag); err != nil {
		return nil, nil, nil, fmt.Errorf("group info: %w", typed(err))
	}
	return &gs, &gi, ep, nil
}

// verifyGroupInfo checks the GroupInfo signature with the signer's key.
func verifyGroupInfo(cs *suite.Suite, gi *wire.GroupInfo, signerPub []byte) error {
	if err := cs.VerifyWithLabel(signerPub, labelGroupInfoTBS, gi.TBS(), gi.Signature); err != nil {
		return fmt.Errorf("group info signature: %w", typed(err))
	}
	return nil
}

// treeFromGroupInfo returns the ratchet tree of gi's ratchet_tree extension,
// or decodes outOfBand when the extension is absent, and checks it against
// the GroupInfo: tree hash, full validation (§12.4.3.1), and gi's
// signature by its signer in that tree. The tree hash and the GroupInfo
// signature are checked while the leaves' signatures are, and reported in
// that order around the tree's own errors. Then every member's credential
// is authenticated (§5.3.1), except own, the joiner's own leaf (nil for an
// external joiner, whose leaf is not in the tree yet).
func treeFromGroupInfo(ctx context.Context, cs *suite.Suite, gi *wire.GroupInfo, outOfBand []byte, opts Options, own *wire.LeafNode) (*tree.Tree, error) {
	enc, ok := gi.Extensions.Find(wire.ExtensionRatchetTree)
	if !ok {
		enc = outOfBand
	}
	if len(enc) == 0 {
		return nil, fmt.Errorf("no ratchet tree in group info or out of band: %w", ErrInvalidWelcome)
	}
	t, err := tree.Decode(cs, enc)
	if err != nil {
		return nil, fmt.Errorf("ratchet tree: %w", typed(err))
	}
	req, err := requiredCapabilities(gi.GroupContext.Extensions)
	if err != nil {
		return nil, err
	}
	var hashErr, signerErr error
	alongside := func() {
		if !bytes.Equal(t.TreeHash(), gi.GroupContext.TreeHash) {
			hashErr = fmt.Errorf("ratchet tree hash does not match group context: %w", ErrInvalidWelcome)
			return
		}
		signer := t.Leaf(tree.LeafIndex(gi.Signer))
		if signer == nil {
			signerErr = fmt.Errorf("group info signer %d is not a member: %w", gi.Signer, ErrInvalidWelcome)
			return
		}
		signerErr = verifyGroupInfo(cs, gi, signer.SignatureKey)
	}
	err = t.Validate(tree.ValidateOptions{GroupID: gi.GroupContext.GroupID, Required: req, Now: opts.now(), Alongside: alongside})
	switch {
	case hashErr != nil:
		return nil, hashErr
	case err != nil:
		return nil, fmt.Errorf("ratchet tree: %w: %w", ErrInvalidWelcome, err)
	case signerErr != nil:
		return nil, signerErr
	}
	var leaves []*wire.LeafNode
	t.Members(func(_ tree.LeafIndex, leaf *wire.LeafNode) bool {
		if own == nil || !bytes.Equal(leaf.SignatureKey, own.SignatureKey) || !sameCredential(&leaf.Credential, &own.Credential) {
			leaves = append(leaves, leaf)
		}
		return true
	})
	if err := authenticateLeaves(ctx, cs, opts, leaves); err != nil {
		return nil, fmt.Errorf("ratchet tree: %w: %w", ErrInvalidWelcome, err)
	}
	return t, nil
}

// joinFromWelcome builds the state of a new member from a Welcome.
func joinFromWelcome(ctx context.Context, in joinInput) (*groupState, error) {
	cs := in.cs
	ref := wire.MakeKeyPackageRef(hashFunc(cs), in.kpBytes)
	gs, gi, ep, err := openWelcome(ctx, cs, in.welcome, ref, in.initPriv, in.psks)
	if err != nil {
		return nil, err
	}
	t, err := treeFromGroupInfo(ctx, cs, gi, in.ratchetTree, in.opts, &in.kp.LeafNode)
	if err != nil {
		return nil, err
	}
	own := codec.Marshal(in.kp.LeafNode)
	me, found := tree.LeafIndex(0), false
	t.Members(func(l tree.LeafIndex, leaf *wire.LeafNode) bool {
		if bytes.Equal(leaf.EncryptionKey, in.kp.LeafNode.EncryptionKey) && bytes.Equal(codec.Marshal(*leaf), own) {
			me, found = l, true
			return false
		}
		return true
	})
	if !found {
		return nil, fmt.Errorf("own leaf not in ratchet tree: %w", ErrInvalidWelcome)
	}
	keys := tree.NewPrivateKeys(me, tree.KeyPair{Priv: in.leafPriv, Pub: in.kp.LeafNode.EncryptionKey})
	if gs.PathSecret != nil {
		if err := keys.ImportPathSecret(cs, t, tree.LeafIndex(gi.Signer), gs.PathSecret.PathSecret); err != nil {
			return nil, fmt.Errorf("welcome path secret: %w: %w", ErrInvalidWelcome, err)
		}
	}
	secrets, err := newSecretTree(cs, ep, t.NumLeaves(), in.opts.SecretTree)
	if err != nil {
		return nil, err
	}
	ep.Forget()
	t.Mark()
	secrets.TakeChanges()
	return &groupState{
		cs:      cs,
		gc:      gi.GroupContext,
		interim: framing.InterimTranscriptHash(cs, gi.GroupContext.ConfirmedTranscriptHash, gi.ConfirmationTag),
		tag:     gi.ConfirmationTag,
		tree:    t,
		keys:    keys,
		sigPriv: in.sigPriv,
		epoch:   ep,
		secrets: secrets,
		ids:     newIdentityCache(),
	}, nil
}

// checkPSKIDs checks the PreSharedKeyIDs of a Welcome or commit: nonces of
// Nh bytes, resumption usage application, no duplicates (§8.4, §12.2).
func checkPSKIDs(cs *suite.Suite, ids []wire.PreSharedKeyID) error {
	seen := map[string]bool{}
	for i := range ids {
		id := &ids[i]
		if len(id.PSKNonce) != cs.Nh() {
			return fmt.Errorf("psk nonce of %d bytes: %w", len(id.PSKNonce), ErrInvalidProposal)
		}
		key := string(codec.Marshal(wire.PreSharedKeyID{PSKType: id.PSKType, PSKID: id.PSKID, Usage: id.Usage, PSKGroupID: id.PSKGroupID, PSKEpoch: id.PSKEpoch}))
		if seen[key] {
			return fmt.Errorf("duplicate psk: %w", ErrInvalidProposal)
		}
		seen[key] = true
	}
	return nil
}
