package suite

import (
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
)

// kem is the HPKE (RFC 9180, base mode) implementation behind a suite: its
// KEM combined with the suite's KDF and AEAD.
type kem interface {
	generate() (priv, pub []byte, err error)
	derive(ikm []byte) (priv, pub []byte, err error)
	publicFromPrivate(priv []byte) ([]byte, error)
	validatePublic(pub []byte) error
	seal(pub, info, aad, pt []byte) (enc, ct []byte, err error)
	open(priv, enc, info, aad, ct []byte) ([]byte, error)
	exportSender(pub, info, exporterContext []byte, length int) (enc, secret []byte, err error)
	exportReceiver(priv, enc, info, exporterContext []byte, length int) ([]byte, error)
}

// maxExport is the largest HPKE export length (RFC 9180: L is a uint16).
const maxExport = 65535

// GenerateKeyPair returns a fresh random HPKE key pair.
func (s *Suite) GenerateKeyPair() (priv, pub []byte, err error) {
	priv, pub, err = s.kem.generate()
	if err != nil {
		return nil, nil, fmt.Errorf("generate hpke key: %w", err)
	}
	return priv, pub, nil
}

// DeriveKeyPair is the KEM's DeriveKeyPair(ikm) of RFC 9180 §7.1.3. The
// private key is returned as SerializePrivateKey output.
func (s *Suite) DeriveKeyPair(ikm []byte) (priv, pub []byte, err error) {
	priv, pub, err = s.kem.derive(ikm)
	if err != nil {
		return nil, nil, fmt.Errorf("derive hpke key: %w", err)
	}
	return priv, pub, nil
}

// PublicKeyFromPrivate returns the HPKE public key of a serialized private key.
func (s *Suite) PublicKeyFromPrivate(priv []byte) ([]byte, error) {
	pub, err := s.kem.publicFromPrivate(priv)
	if err != nil {
		return nil, fmt.Errorf("hpke public key: %w", err)
	}
	return pub, nil
}

// ValidatePublicKey returns an error wrapping [ErrInvalidKey] unless pub is
// a well-formed HPKE public key for the suite's KEM.
func (s *Suite) ValidatePublicKey(pub []byte) error {
	if err := s.kem.validatePublic(pub); err != nil {
		return fmt.Errorf("hpke public key: %w", err)
	}
	return nil
}

// encryptContext serializes EncryptContext (RFC 9420 §5.1.3).
func encryptContext(label string, context []byte) []byte {
	w := codec.NewWriter(make([]byte, 0, 8+len(labelPrefix)+len(label)+len(context)))
	w.Varint(len(labelPrefix) + len(label))
	w.Raw([]byte(labelPrefix))
	w.Raw([]byte(label))
	w.Opaque(context)
	return w.Bytes()
}

// EncryptWithLabel is SealBase(pub, EncryptContext{label, context}, "",
// plaintext) (RFC 9420 §5.1.3). It returns the KEM output and ciphertext.
func (s *Suite) EncryptWithLabel(pub []byte, label string, context, plaintext []byte) (kemOutput, ct []byte, err error) {
	kemOutput, ct, err = s.kem.seal(pub, encryptContext(label, context), nil, plaintext)
	if err != nil {
		return nil, nil, fmt.Errorf("encrypt with label %q: %w", label, err)
	}
	return kemOutput, ct, nil
}

// DecryptWithLabel is OpenBase(kemOutput, priv, EncryptContext{label,
// context}, "", ct) (RFC 9420 §5.1.3). A ciphertext that does not
// authenticate returns an error wrapping [ErrDecrypt].
func (s *Suite) DecryptWithLabel(priv []byte, label string, context, kemOutput, ct []byte) ([]byte, error) {
	pt, err := s.kem.open(priv, kemOutput, encryptContext(label, context), nil, ct)
	if err != nil {
		return nil, fmt.Errorf("decrypt with label %q: %w", label, err)
	}
	return pt, nil
}

// ExportSender sets up an HPKE base-mode sender context to pub with info
// and returns its encapsulated key and Export(exporterContext, length). MLS
// uses it for external init (RFC 9420 §8.3).
func (s *Suite) ExportSender(pub, info, exporterContext []byte, length int) (kemOutput, secret []byte, err error) {
	if length < 0 || length > maxExport || length > s.MaxExpand() {
		return nil, nil, fmt.Errorf("hpke export of %d bytes: %w", length, ErrLength)
	}
	kemOutput, secret, err = s.kem.exportSender(pub, info, exporterContext, length)
	if err != nil {
		return nil, nil, fmt.Errorf("hpke export: %w", err)
	}
	return kemOutput, secret, nil
}

// ExportReceiver sets up the HPKE base-mode receiver context for kemOutput
// and returns Export(exporterContext, length), the secret [Suite.ExportSender]
// produced.
func (s *Suite) ExportReceiver(priv, kemOutput, info, exporterContext []byte, length int) ([]byte, error) {
	if length < 0 || length > maxExport || length > s.MaxExpand() {
		return nil, fmt.Errorf("hpke export of %d bytes: %w", length, ErrLength)
	}
	secret, err := s.kem.exportReceiver(priv, kemOutput, info, exporterContext, length)
	if err != nil {
		return nil, fmt.Errorf("hpke export: %w", err)
	}
	return secret, nil
}
