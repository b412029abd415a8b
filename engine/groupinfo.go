package engine

import (
	"context"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/internal/parallel"
	"github.com/mlsbackup/mlsbackup/engine/keyschedule"
	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// signedGroupInfo returns prefix followed by the encoded, signed GroupInfo
// of state s (RFC 9420 §12.4.3): its group context, the external_pub
// extension and, if withTree, the ratchet_tree extension. The GroupInfo is
// encoded once, into a buffer sized for it: the signature covers the
// GroupInfoTBS bytes just written and is then appended to them. The
// external key pair (an X25519 derivation for suite 1) is derived while
// the tree is encoded.
func (s *groupState) signedGroupInfo(prefix []byte, withTree bool) ([]byte, error) {
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
		return nil, fmt.Errorf("external key pair: %w", pubErr)
	}
	exts := wire.Extensions{{ExtensionType: wire.ExtensionExternalPub, ExtensionData: codec.Marshal(wire.ExternalPub{ExternalPub: pub})}}
	if withTree {
		exts = append(exts, wire.Extension{ExtensionType: wire.ExtensionRatchetTree, ExtensionData: treeEnc})
	}
	gi := &wire.GroupInfo{GroupContext: s.gc, Extensions: exts, ConfirmationTag: s.tag, Signer: uint32(s.me())}
	size := len(prefix) + len(treeEnc) + 2048
	for _, e := range s.gc.Extensions {
		size += len(e.ExtensionData) + 8
	}
	w := codec.NewWriter(append(make([]byte, 0, size), prefix...))
	gi.MarshalTBS(w)
	sig, err := s.cs.SignWithLabel(s.sigPriv, labelGroupInfoTBS, w.Bytes()[len(prefix):])
	if err != nil {
		return nil, fmt.Errorf("sign group info: %w", err)
	}
	w.Opaque(sig)
	return w.Bytes(), nil
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
	var hdr codec.Writer
	hdr.Uint16(uint16(wire.ProtocolVersionMLS10))
	hdr.Uint16(uint16(wire.WireFormatGroupInfo))
	msg, err := g.s.signedGroupInfo(hdr.Bytes(), withTree)
	if err != nil {
		return nil, fmt.Errorf("group info: %w", err)
	}
	return msg, nil
}

// RatchetTree returns the encoded ratchet tree of the current epoch, for
// joiners of a Welcome or GroupInfo without the ratchet_tree extension
// (RFC 9420 §12.4.3.3).
func (g *Group) RatchetTree(_ context.Context) ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.usable(); err != nil {
		return nil, err
	}
	return g.s.tree.Encode(), nil
}

// welcome builds the Welcome for the members a staged commit adds (RFC
// 9420 §12.4.3.1): the GroupInfo of the new epoch, with the ratchet tree
// if withTree, encrypted under the welcome secret, and per new member the
// GroupSecrets encrypted to its KeyPackage's init key.
func (st *staged) welcome(path *tree.PathResult, withTree bool) ([]byte, error) {
	ns, cs := st.ns, st.ns.cs
	gi, err := ns.signedGroupInfo(nil, withTree)
	if err != nil {
		return nil, err
	}
	key, nonce := keyschedule.WelcomeKeyNonce(cs, st.ep.WelcomeSecret)
	egi, err := cs.Seal(key, nonce, nil, gi)
	if err != nil {
		return nil, fmt.Errorf("encrypt group info: %w", err)
	}
	w := &wire.Welcome{CipherSuite: wire.CipherSuite(cs.ID()), EncryptedGroupInfo: egi}
	w.Secrets = make([]wire.EncryptedGroupSecrets, len(st.added))
	// One HPKE encryption per new member, spread over the CPUs.
	err = parallel.For(len(st.added), 4, func(i int) error {
		kp := st.addedKPs[i]
		gs := wire.GroupSecrets{JoinerSecret: st.ep.JoinerSecret, PSKs: st.pskIDs}
		if gs.PSKs == nil {
			gs.PSKs = []wire.PreSharedKeyID{}
		}
		if path != nil {
			if ps, ok := path.PathSecretFor(st.added[i]); ok {
				gs.PathSecret = &wire.PathSecret{PathSecret: ps}
			}
		}
		kem, ct, err := cs.EncryptWithLabel(kp.InitKey, labelWelcome, egi, codec.Marshal(gs))
		if err != nil {
			return fmt.Errorf("encrypt group secrets: %w", err)
		}
		w.Secrets[i] = wire.EncryptedGroupSecrets{
			NewMember:             wire.MakeKeyPackageRef(hashFunc(cs), codec.Marshal(*kp)),
			EncryptedGroupSecrets: wire.HPKECiphertext{KEMOutput: kem, Ciphertext: ct},
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return codec.Marshal(wire.MLSMessage{Version: wire.ProtocolVersionMLS10, WireFormat: wire.WireFormatWelcome, Welcome: w}), nil
}
