package engine

import (
	"context"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/keyschedule"
	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// signedGroupInfo appends to w the encoded, signed GroupInfo of state s
// (RFC 9420 §12.4.3): its group context, the external_pub extension and,
// if withTree, the ratchet_tree extension. The GroupInfo is encoded once:
// the signature covers the GroupInfoTBS bytes just written, and is then
// appended to them. The external key pair (an X25519 derivation for suite
// 1) is derived while the tree is encoded.
func (s *groupState) signedGroupInfo(w *codec.Writer, withTree bool) error {
	var pub []byte
	var pubErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, pub, pubErr = s.epoch.ExternalKeyPair(s.cs)
	}()
	var treeEnc []byte
	if withTree {
		treeEnc = s.tree.Encode()
	}
	<-done
	if pubErr != nil {
		return fmt.Errorf("external key pair: %w", pubErr)
	}
	exts := wire.Extensions{{ExtensionType: wire.ExtensionExternalPub, ExtensionData: codec.Marshal(wire.ExternalPub{ExternalPub: pub})}}
	if withTree {
		exts = append(exts, wire.Extension{ExtensionType: wire.ExtensionRatchetTree, ExtensionData: treeEnc})
	}
	gi := &wire.GroupInfo{GroupContext: s.gc, Extensions: exts, ConfirmationTag: s.tag, Signer: uint32(s.me())}
	start := w.Len()
	gi.MarshalTBS(w)
	sig, err := s.cs.SignWithLabel(s.sigPriv, labelGroupInfoTBS, w.Bytes()[start:])
	if err != nil {
		return fmt.Errorf("sign group info: %w", err)
	}
	w.Opaque(sig)
	return nil
}

// groupInfoWriter returns a writer with room for a GroupInfo of s, so the
// encoding of a large ratchet tree is not copied while it grows.
func (s *groupState) groupInfoWriter(withTree bool) *codec.Writer {
	size := 1024
	if withTree {
		size += 64 * int(s.tree.Width()) // grows once if the tree's nodes are larger
	}
	return codec.NewWriter(make([]byte, 0, size))
}

// GroupInfo returns a signed GroupInfo of the current epoch as an
// MLSMessage, with the ratchet tree if withTree, for new members joining by
// external commit (RFC 9420 §12.4.3.2).
func (g *Group) GroupInfo(_ context.Context, withTree bool) ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.usable(); err != nil {
		return nil, err
	}
	w := g.s.groupInfoWriter(withTree)
	w.Uint16(uint16(wire.ProtocolVersionMLS10))
	w.Uint16(uint16(wire.WireFormatGroupInfo))
	if err := g.s.signedGroupInfo(w, withTree); err != nil {
		return nil, fmt.Errorf("group info: %w", err)
	}
	return w.Bytes(), nil
}

// welcome builds the Welcome for the members a staged commit adds (RFC
// 9420 §12.4.3.1): the GroupInfo of the new epoch encrypted under the
// welcome secret, and per new member the GroupSecrets encrypted to its
// KeyPackage's init key.
func (st *staged) welcome(path *tree.PathResult, opts Options) ([]byte, error) {
	ns, cs := st.ns, st.ns.cs
	giw := ns.groupInfoWriter(!opts.OmitRatchetTree)
	if err := ns.signedGroupInfo(giw, !opts.OmitRatchetTree); err != nil {
		return nil, err
	}
	key, nonce := keyschedule.WelcomeKeyNonce(cs, st.ep.WelcomeSecret)
	egi, err := cs.Seal(key, nonce, nil, giw.Bytes())
	if err != nil {
		return nil, fmt.Errorf("encrypt group info: %w", err)
	}
	w := &wire.Welcome{CipherSuite: wire.CipherSuite(cs.ID()), EncryptedGroupInfo: egi}
	for i, l := range st.added {
		kp := st.addedKPs[i]
		gs := wire.GroupSecrets{JoinerSecret: st.ep.JoinerSecret, PSKs: st.pskIDs}
		if gs.PSKs == nil {
			gs.PSKs = []wire.PreSharedKeyID{}
		}
		if path != nil {
			if ps, ok := path.PathSecretFor(l); ok {
				gs.PathSecret = &wire.PathSecret{PathSecret: ps}
			}
		}
		kem, ct, err := cs.EncryptWithLabel(kp.InitKey, labelWelcome, egi, codec.Marshal(gs))
		if err != nil {
			return nil, fmt.Errorf("encrypt group secrets: %w", err)
		}
		w.Secrets = append(w.Secrets, wire.EncryptedGroupSecrets{
			NewMember:             wire.MakeKeyPackageRef(hashFunc(cs), codec.Marshal(*kp)),
			EncryptedGroupSecrets: wire.HPKECiphertext{KEMOutput: kem, Ciphertext: ct},
		})
	}
	return codec.Marshal(wire.MLSMessage{Version: wire.ProtocolVersionMLS10, WireFormat: wire.WireFormatWelcome, Welcome: w}), nil
}
