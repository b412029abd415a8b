package engine

import (
	"context"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/keyschedule"
	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// signedGroupInfo builds and signs the GroupInfo of state s (RFC 9420
// §12.4.3): its group context, the external_pub extension and, if
// withTree, the ratchet_tree extension.
func (s *groupState) signedGroupInfo(withTree bool) (*wire.GroupInfo, error) {
	_, pub, err := s.epoch.ExternalKeyPair(s.cs)
	if err != nil {
		return nil, fmt.Errorf("external key pair: %w", err)
	}
	exts := wire.Extensions{{ExtensionType: wire.ExtensionExternalPub, ExtensionData: codec.Marshal(wire.ExternalPub{ExternalPub: pub})}}
	if withTree {
		exts = append(exts, wire.Extension{ExtensionType: wire.ExtensionRatchetTree, ExtensionData: s.tree.Encode()})
	}
	gi := &wire.GroupInfo{GroupContext: s.gc, Extensions: exts, ConfirmationTag: s.tag, Signer: uint32(s.me())}
	gi.Signature, err = s.cs.SignWithLabel(s.sigPriv, labelGroupInfoTBS, gi.TBS())
	if err != nil {
		return nil, fmt.Errorf("sign group info: %w", err)
	}
	return gi, nil
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
	gi, err := g.s.signedGroupInfo(withTree)
	if err != nil {
		return nil, fmt.Errorf("group info: %w", err)
	}
	return codec.Marshal(wire.MLSMessage{Version: wire.ProtocolVersionMLS10, WireFormat: wire.WireFormatGroupInfo, GroupInfo: gi}), nil
}

// welcome builds the Welcome for the members a staged commit adds (RFC
// 9420 §12.4.3.1): the GroupInfo of the new epoch encrypted under the
// welcome secret, and per new member the GroupSecrets encrypted to its
// KeyPackage's init key.
func (st *staged) welcome(path *tree.PathResult, opts Options) ([]byte, error) {
	ns, cs := st.ns, st.ns.cs
	gi, err := ns.signedGroupInfo(!opts.OmitRatchetTree)
	if err != nil {
		return nil, err
	}
	key, nonce := keyschedule.WelcomeKeyNonce(cs, st.ep.WelcomeSecret)
	egi, err := cs.Seal(key, nonce, nil, codec.Marshal(*gi))
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
