package suite

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"fmt"
)

// Signature keys in X.509 certificates (RFC 9420 §5.3: an x509
// credential's leaf certificate carries the member's signature key). The
// keys come parsed by crypto/x509 (x509.ParseCertificate,
// x509.ParsePKCS8PrivateKey, x509.ParseECPrivateKey); these functions only
// re-encode them in the suite's key encodings with the key types' own
// methods.

// CertificateKeys reports whether the suite's signature keys can be carried
// by certificates that crypto/x509 parses: Ed25519 and ECDSA on the
// suite's curve can, Ed448 cannot.
func (s *Suite) CertificateKeys() bool {
	switch s.sig.(type) {
	case ed25519Signer, ecdsaSigner:
		return true
	}
	return false
}

// ImportSignaturePublicKey returns pub, a public key as crypto/x509 parses
// it from a certificate, in the suite's encoding. It fails with
// [ErrInvalidKey] if pub is not a key of the suite's signature scheme.
func (s *Suite) ImportSignaturePublicKey(pub crypto.PublicKey) ([]byte, error) {
	switch sig := s.sig.(type) {
	case ed25519Signer:
		if k, ok := pub.(ed25519.PublicKey); ok && len(k) == ed25519.PublicKeySize {
			return append([]byte(nil), k...), nil
		}
	case ecdsaSigner:
		if k, ok := pub.(*ecdsa.PublicKey); ok && k.Curve == sig.curve {
			b, err := k.Bytes()
			if err != nil {
				return nil, fmt.Errorf("import signature public key: %w: %w", ErrInvalidKey, err)
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("import signature public key: %T is not a key of suite %#04x: %w", pub, uint16(s.id), ErrInvalidKey)
}

// ImportSignaturePrivateKey returns priv, a private key as crypto/x509
// parses it, and its public key in the suite's encodings. It fails with
// [ErrInvalidKey] if priv is not a key of the suite's signature scheme.
func (s *Suite) ImportSignaturePrivateKey(priv crypto.PrivateKey) (privBytes, pub []byte, err error) {
	switch sig := s.sig.(type) {
	case ed25519Signer:
		if k, ok := priv.(ed25519.PrivateKey); ok && len(k) == ed25519.PrivateKeySize {
			return k.Seed(), append([]byte(nil), k[ed25519.SeedSize:]...), nil
		}
	case ecdsaSigner:
		if k, ok := priv.(*ecdsa.PrivateKey); ok && k.Curve == sig.curve {
			if privBytes, err = k.Bytes(); err == nil {
				pub, err = k.PublicKey.Bytes()
			}
			if err != nil {
				return nil, nil, fmt.Errorf("import signature private key: %w: %w", ErrInvalidKey, err)
			}
			return privBytes, pub, nil
		}
	}
	return nil, nil, fmt.Errorf("import signature private key: %T is not a key of suite %#04x: %w", priv, uint16(s.id), ErrInvalidKey)
}
