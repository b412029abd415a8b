package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// Signature labels of RFC 9420 §5.1.2 used by this package.
const (
	labelKeyPackageTBS = "KeyPackageTBS"
	labelLeafNodeTBS   = "LeafNodeTBS"
	labelGroupInfoTBS  = "GroupInfoTBS"
	labelWelcome       = "Welcome"
)

// keyPackageLifetime is the validity of a new KeyPackage's leaf.
const keyPackageLifetime = 90 * 24 * time.Hour

// hashFunc adapts a suite's hash to the one-argument form package wire uses.
func hashFunc(cs *suite.Suite) func([]byte) []byte {
	return func(b []byte) []byte { return cs.Hash(b) }
}

// basicCredential is the basic credential of identity.
func basicCredential(identity string) wire.Credential {
	return wire.Credential{CredentialType: wire.CredentialTypeBasic, Identity: []byte(identity)}
}

// keyPackageSecrets are the private halves of a KeyPackage. The record is
// written in version 1 when SigPriv is empty (the client's stored basic
// signature key signs for the KeyPackage's leaf), else in version 2.
type keyPackageSecrets struct {
	InitPriv   []byte
	LeafPriv   []byte
	LastResort bool
	KeyPackage []byte // encoded wire.KeyPackage
	// SigPriv is the signature private key of the leaf, if not the
	// stored basic one (an x509 credential's).
	SigPriv []byte
}

func (k keyPackageSecrets) MarshalTLS(w *codec.Writer) {
	if len(k.SigPriv) == 0 {
		w.Uint8(1)
	} else {
		w.Uint8(2)
	}
	w.Opaque(k.InitPriv)
	w.Opaque(k.LeafPriv)
	w.Bool(k.LastResort)
	w.Opaque(k.KeyPackage)
	if len(k.SigPriv) > 0 {
		w.Opaque(k.SigPriv)
	}
}

func (k *keyPackageSecrets) UnmarshalTLS(r *codec.Reader) {
	v := r.Uint8()
	if r.Err() == nil && v != 1 && v != 2 {
		r.Fail(fmt.Errorf("key package record version %d: %w", v, codec.ErrInvalid))
		return
	}
	k.InitPriv = r.Opaque()
	k.LeafPriv = r.Opaque()
	k.LastResort = r.Bool()
	k.KeyPackage = r.Opaque()
	if v == 2 {
		k.SigPriv = r.Opaque()
	}
}

// newKeyPackage builds and signs a KeyPackage presenting cred with the
// given signature key and the capabilities caps (see
// [Capabilities.leafCapabilities]), returning it with its private keys.
func newKeyPackage(cs *suite.Suite, cred wire.Credential, caps wire.Capabilities, sigPriv, sigPub []byte, now time.Time) (*wire.KeyPackage, *keyPackageSecrets, error) {
	initPriv, initPub, err := cs.GenerateKeyPair()
	if err != nil {
		return nil, nil, fmt.Errorf("init key: %w", err)
	}
	leafPriv, leafPub, err := cs.GenerateKeyPair()
	if err != nil {
		return nil, nil, fmt.Errorf("leaf key: %w", err)
	}
	lt := wire.Lifetime{NotBefore: 0, NotAfter: math.MaxUint64}
	if !now.IsZero() {
		lt = wire.Lifetime{NotBefore: uint64(now.Add(-time.Hour).Unix()), NotAfter: uint64(now.Add(keyPackageLifetime).Unix())}
	}
	leaf := wire.LeafNode{
		EncryptionKey:  leafPub,
		SignatureKey:   sigPub,
		Credential:     cred,
		Capabilities:   caps,
		LeafNodeSource: wire.LeafNodeSourceKeyPackage,
		Lifetime:       lt,
		Extensions:     wire.Extensions{},
	}
	leaf.Signature, err = cs.SignWithLabel(sigPriv, labelLeafNodeTBS, leaf.TBS(nil, 0))
	if err != nil {
		return nil, nil, fmt.Errorf("sign leaf node: %w", err)
	}
	kp := &wire.KeyPackage{
		Version:     wire.ProtocolVersionMLS10,
		CipherSuite: wire.CipherSuite(cs.ID()),
		InitKey:     initPub,
		LeafNode:    leaf,
		Extensions:  wire.Extensions{},
	}
	kp.Signature, err = cs.SignWithLabel(sigPriv, labelKeyPackageTBS, kp.TBS())
	if err != nil {
		return nil, nil, fmt.Errorf("sign key package: %w", err)
	}
	return kp, &keyPackageSecrets{InitPriv: initPriv, LeafPriv: leafPriv, KeyPackage: codec.Marshal(kp)}, nil
}

// KeyPackageRef returns the reference of a KeyPackage (RFC 9420 §5.2),
// given bare or as an MLSMessage.
func KeyPackageRef(keyPackage []byte) ([]byte, error) {
	kp, bare, err := decodeKeyPackage(keyPackage)
	if err != nil {
		return nil, fmt.Errorf("key package ref: %w", err)
	}
	cs, err := suite.New(suite.ID(kp.CipherSuite))
	if err != nil {
		return nil, fmt.Errorf("key package ref: %w", typed(err))
	}
	return wire.MakeKeyPackageRef(hashFunc(cs), bare), nil
}

// validateKeyPackage checks kp on its own (RFC 9420 §10.1) for a group of
// suite cs: version, suite, signature, leaf node, distinct init and leaf keys.
func validateKeyPackage(cs *suite.Suite, kp *wire.KeyPackage, required *wire.RequiredCapabilities, now time.Time) error {
	if kp.Version != wire.ProtocolVersionMLS10 {
		return fmt.Errorf("version %d: %w", kp.Version, ErrInvalidKeyPackage)
	}
	if kp.CipherSuite != wire.CipherSuite(cs.ID()) {
		return fmt.Errorf("cipher suite %#04x, group uses %#04x: %w", uint16(kp.CipherSuite), uint16(cs.ID()), ErrInvalidKeyPackage)
	}
	if err := cs.VerifyWithLabel(kp.LeafNode.SignatureKey, labelKeyPackageTBS, kp.TBS(), kp.Signature); err != nil {
		return fmt.Errorf("key package signature: %w: %w", ErrBadSignature, err)
	}
	if err := cs.ValidatePublicKey(kp.InitKey); err != nil {
		return fmt.Errorf("init key: %w: %w", ErrInvalidKeyPackage, err)
	}
	if bytes.Equal(kp.InitKey, kp.LeafNode.EncryptionKey) {
		return fmt.Errorf("init key equals leaf encryption key: %w", ErrInvalidKeyPackage)
	}
	if err := tree.ValidateLeafNode(cs, &kp.LeafNode, tree.LeafCheck{Source: wire.LeafNodeSourceKeyPackage, Required: required, Now: now}); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidKeyPackage, err)
	}
	if kp.Extensions.HasDuplicates() {
		return fmt.Errorf("duplicate extension: %w", ErrInvalidKeyPackage)
	}
	return nil
}

// ValidateKeyPackage decodes a KeyPackage (bare or as an MLSMessage) and
// validates it on its own (RFC 9420 §10.1), without a group: signature,
// leaf node, keys, the credential's binding of the signature key (an x509
// chain parses and its first certificate holds the key; the
// [AuthenticationService] is not asked), and its lifetime when now is not
// zero.
func ValidateKeyPackage(keyPackage []byte, now time.Time) error {
	kp, _, err := decodeKeyPackage(keyPackage)
	if err != nil {
		return fmt.Errorf("validate key package: %w", err)
	}
	cs, err := suite.New(suite.ID(kp.CipherSuite))
	if err != nil {
		return fmt.Errorf("validate key package: %w", typed(err))
	}
	if err := validateKeyPackage(cs, kp, nil, now); err != nil {
		return fmt.Errorf("validate key package: %w", err)
	}
	if err := checkCredentialKey(cs, &kp.LeafNode.Credential, kp.LeafNode.SignatureKey); err != nil {
		return fmt.Errorf("validate key package: %w", err)
	}
	return nil
}

// decodeKeyPackage accepts a KeyPackage either bare or wrapped in an
// MLSMessage.
//
// When neither decodes and b starts as an MLSMessage holding a KeyPackage
// does (what [Client.CreateKeyPackage] returns), the MLSMessage's error is
// the one reported: the bare reading of such bytes fails on a misread
// field (the message's KeyPackage two bytes off), which would hide a
// plain truncation.
func decodeKeyPackage(b []byte) (*wire.KeyPackage, []byte, error) {
	var m wire.MLSMessage
	msgErr := codec.Unmarshal(b, &m)
	if msgErr == nil && m.KeyPackage != nil {
		return m.KeyPackage, codec.Marshal(m.KeyPackage), nil
	}
	var kp wire.KeyPackage
	if err := codec.Unmarshal(b, &kp); err != nil {
		if msgErr != nil && keyPackageMessage(b) {
			err = msgErr
		}
		if errors.Is(err, codec.ErrShort) {
			return nil, nil, fmt.Errorf("decode key package: truncated (%d bytes): %w", len(b), typed(err))
		}
		return nil, nil, fmt.Errorf("decode key package: %w", typed(err))
	}
	return &kp, b, nil
}

// keyPackageMessage reports whether b starts with the header of an
// MLSMessage of wire format mls_key_package.
func keyPackageMessage(b []byte) bool {
	return len(b) >= 4 && binary.BigEndian.Uint16(b) == uint16(wire.ProtocolVersionMLS10) &&
		binary.BigEndian.Uint16(b[2:]) == uint16(wire.WireFormatKeyPackage)
}
