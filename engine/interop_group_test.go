package engine

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

type welcomeVector struct {
	CipherSuite uint16      `json:"cipher_suite"`
	InitPriv    vectors.Hex `json:"init_priv"`
	SignerPub   vectors.Hex `json:"signer_pub"`
	KeyPackage  vectors.Hex `json:"key_package"`
	Welcome     vectors.Hex `json:"welcome"`
}

func checkWelcomeVector(v *welcomeVector) error {
	cs, err := suite.New(suite.ID(v.CipherSuite))
	if err != nil {
		return err
	}
	kp, kpBytes, err := decodeKeyPackage(v.KeyPackage)
	if err != nil {
		return err
	}
	if err := validateKeyPackage(cs, kp, nil, zeroTime); err != nil {
		return fmt.Errorf("key package: %w", err)
	}
	w, err := decodeWelcome(v.Welcome)
	if err != nil {
		return err
	}
	ref := wire.MakeKeyPackageRef(hashFunc(cs), kpBytes)
	_, gi, _, err := openWelcome(context.Background(), cs, w, ref, v.InitPriv, externalOnly(nil))
	if err != nil {
		return err
	}
	return verifyGroupInfo(cs, gi, v.SignerPub)
}

type passiveVector struct {
	CipherSuite  uint16 `json:"cipher_suite"`
	ExternalPSKs []struct {
		PSKID vectors.Hex `json:"psk_id"`
		PSK   vectors.Hex `json:"psk"`
	} `json:"external_psks"`
	KeyPackage           vectors.Hex `json:"key_package"`
	SignaturePriv        vectors.Hex `json:"signature_priv"`
	EncryptionPriv       vectors.Hex `json:"encryption_priv"`
	InitPriv             vectors.Hex `json:"init_priv"`
	Welcome              vectors.Hex `json:"welcome"`
	RatchetTree          vectors.Hex `json:"ratchet_tree"`
	InitialAuthenticator vectors.Hex `json:"initial_epoch_authenticator"`
	Epochs               []struct {
		Proposals          []vectors.Hex `json:"proposals"`
		Commit             vectors.Hex   `json:"commit"`
		EpochAuthenticator vectors.Hex   `json:"epoch_authenticator"`
	} `json:"epochs"`
}

// checkPassiveVector checks one passive-client case: join from the
// Welcome, then follow every epoch's proposals and commit, comparing epoch
// authenticators, with the group on MemStorage reloaded every epoch.
func checkPassiveVector(v *passiveVector) error {
	ctx := context.Background()
	cs, err := suite.New(suite.ID(v.CipherSuite))
	if err != nil {
		return err
	}
	kp, kpBytes, err := decodeKeyPackage(v.KeyPackage)
	if err != nil {
		return err
	}
	for _, c := range []struct {
		name      string
		priv, pub []byte
		sig       bool
	}{
		{"init", v.InitPriv, kp.InitKey, false},
		{"encryption", v.EncryptionPriv, kp.LeafNode.EncryptionKey, false},
		{"signature", v.SignaturePriv, kp.LeafNode.SignatureKey, true},
	} {
		var got []byte
		if c.sig {
			got, err = cs.SignaturePublicKey(c.priv)
		} else {
			got, err = cs.PublicKeyFromPrivate(c.priv)
		}
		if err != nil || !bytes.Equal(got, c.pub) {
			return fmt.Errorf("%s private key does not match key package (err %v)", c.name, err)
		}
	}
	w, err := decodeWelcome(v.Welcome)
	if err != nil {
		return err
	}
	psks := MapPSKStore{}
	for _, p := range v.ExternalPSKs {
		psks[string(p.PSKID)] = p.PSK
	}
	st := NewMemStorage()
	opts := Options{PSKs: psks}.withDefaults()
	s, err := joinFromWelcome(ctx, joinInput{
		cs: cs, welcome: w, kp: kp, kpBytes: kpBytes,
		initPriv: v.InitPriv, leafPriv: v.EncryptionPriv, sigPriv: v.SignaturePriv,
		ratchetTree: v.RatchetTree, psks: externalOnly(psks), opts: opts,
	})
	if err != nil {
		return fmt.Errorf("join: %w", err)
	}
	g, err := newStoredGroup(ctx, st, s, opts, "JoinFromWelcome", false, nil, Batch{})
	if err != nil {
		return err
	}
	if got := g.EpochAuthenticator(); !bytes.Equal(got, v.InitialAuthenticator) {
		return fmt.Errorf("initial epoch authenticator %x, want %x", got, []byte(v.InitialAuthenticator))
	}
	for e, ep := range v.Epochs {
		for j, p := range ep.Proposals {
			if _, err := g.Process(ctx, p); err != nil {
				return fmt.Errorf("epoch %d proposal %d: %w", e, j, err)
			}
		}
		if _, err := g.Process(ctx, ep.Commit); err != nil {
			return fmt.Errorf("epoch %d commit: %w", e, err)
		}
		if got := g.EpochAuthenticator(); !bytes.Equal(got, ep.EpochAuthenticator) {
			return fmt.Errorf("epoch %d authenticator %x, want %x", e, got, []byte(ep.EpochAuthenticator))
		}
		// Reload from storage every epoch: the stored state must continue.
		g, err = LoadGroup(ctx, st, g.GroupID(), opts)
		if err != nil {
			return fmt.Errorf("epoch %d reload: %w", e, err)
		}
	}
	return nil
}

func decodeWelcome(b []byte) (*wire.Welcome, error) {
	var m wire.MLSMessage
	if err := codec.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode welcome: %w", err)
	}
	if m.Welcome == nil {
		return nil, fmt.Errorf("message is not a welcome: %w", ErrMalformed)
	}
	return m.Welcome, nil
}

var zeroTime time.Time
