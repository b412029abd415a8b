// Package suite implements the seven MLS cipher suites of RFC 9420 §17.1 and
// the labeled cryptographic helpers built on them (§5): hashing, HKDF with
// ExpandWithLabel/DeriveSecret/DeriveTreeSecret, RefHash, AEAD, HPKE with
// EncryptWithLabel/DecryptWithLabel and exporters, and signatures with
// SignWithLabel/VerifyWithLabel.
//
// Every key crosses the API as bytes in the encodings MLS uses on the wire
// and in the interop test vectors:
//
//   - HPKE private keys are RFC 9180 SerializePrivateKey output, public keys
//     SerializePublicKey output. For the NIST curves a private scalar
//     shorter than Nsk is accepted and left-padded with zeros, as some
//     implementations (and the interop vectors) drop leading zero bytes.
//   - Ed25519 and Ed448 signature private keys are the RFC 8032 seed (32 and
//     57 bytes); ECDSA private keys are the big-endian scalar (shorter
//     encodings are left-padded); ECDSA public keys are uncompressed points
//     and signatures are DER.
//
// The suites with the NIST curves run on the standard library (crypto/hpke,
// crypto/ecdsa); the X25519 suites use this package's own HPKE with
// DHKEM(X25519) (RFC 9180, on filippo.io/edwards25519 for the field and
// fixed-base arithmetic), which seals with one Montgomery ladder instead of
// two, its own Ed25519 signing (the same bytes as crypto/ed25519.Sign,
// hashing the parts of a large message in place) and its own Ed25519
// verifier with exactly crypto/ed25519.Verify's acceptance rule
// (precomputed tables for keys verified repeatedly, half-size scalars for
// the others); the X448/Ed448 suites use github.com/cloudflare/circl.
//
// A [Suite] is safe for concurrent use.
package suite

import (
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
)

// ID is an MLS cipher suite identifier (RFC 9420 §17.1).
type ID uint16

// The cipher suites of RFC 9420 §17.1.
const (
	// X25519AES128GCMSHA256Ed25519 is MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519.
	X25519AES128GCMSHA256Ed25519 ID = 0x0001
	// P256AES128GCMSHA256P256 is MLS_128_DHKEMP256_AES128GCM_SHA256_P256.
	P256AES128GCMSHA256P256 ID = 0x0002
	// X25519ChaCha20Poly1305SHA256Ed25519 is MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519.
	X25519ChaCha20Poly1305SHA256Ed25519 ID = 0x0003
	// X448AES256GCMSHA512Ed448 is MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448.
	X448AES256GCMSHA512Ed448 ID = 0x0004
	// P521AES256GCMSHA512P521 is MLS_256_DHKEMP521_AES256GCM_SHA512_P521.
	P521AES256GCMSHA512P521 ID = 0x0005
	// X448ChaCha20Poly1305SHA512Ed448 is MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448.
	X448ChaCha20Poly1305SHA512Ed448 ID = 0x0006
	// P384AES256GCMSHA384P384 is MLS_256_DHKEMP384_AES256GCM_SHA384_P384.
	P384AES256GCMSHA384P384 ID = 0x0007
)

// All lists every supported cipher suite in ascending order.
func All() []ID {
	return []ID{
		X25519AES128GCMSHA256Ed25519,
		P256AES128GCMSHA256P256,
		X25519ChaCha20Poly1305SHA256Ed25519,
		X448AES256GCMSHA512Ed448,
		P521AES256GCMSHA512P521,
		X448ChaCha20Poly1305SHA512Ed448,
		P384AES256GCMSHA384P384,
	}
}

// String returns the RFC 9420 name of the suite.
func (id ID) String() string {
	switch id {
	case X25519AES128GCMSHA256Ed25519:
		return "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519"
	case P256AES128GCMSHA256P256:
		return "MLS_128_DHKEMP256_AES128GCM_SHA256_P256"
	case X25519ChaCha20Poly1305SHA256Ed25519:
		return "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519"
	case X448AES256GCMSHA512Ed448:
		return "MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448"
	case P521AES256GCMSHA512P521:
		return "MLS_256_DHKEMP521_AES256GCM_SHA512_P521"
	case X448ChaCha20Poly1305SHA512Ed448:
		return "MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448"
	case P384AES256GCMSHA384P384:
		return "MLS_256_DHKEMP384_AES256GCM_SHA384_P384"
	}
	return fmt.Sprintf("CipherSuite(0x%04x)", uint16(id))
}

// Sentinel errors of the package.
var (
	// ErrUnsupported means the cipher suite identifier is not one of §17.1.
	ErrUnsupported = errors.New("suite: unsupported cipher suite")
	// ErrBadSignature means a signature did not verify.
	ErrBadSignature = errors.New("suite: bad signature")
	// ErrInvalidKey means a key had the wrong length or was not a valid
	// point or scalar for the suite.
	ErrInvalidKey = errors.New("suite: invalid key")
	// ErrDecrypt means an AEAD or HPKE ciphertext failed to authenticate.
	ErrDecrypt = errors.New("suite: decryption failed")
	// ErrLength means a requested output length is out of range.
	ErrLength = errors.New("suite: invalid length")
)

// Suite holds the primitives of one cipher suite. Obtain one with [New].
type Suite struct {
	id      ID
	newHash func() hash.Hash
	nh      int
	aead    aeadKind
	kem     kem
	sig     signer
	kdf256  bool // the KDF is HKDF-SHA256 (Expand takes hmacSHA256)
}

// New returns the [Suite] for id, or an error wrapping [ErrUnsupported].
func New(id ID) (*Suite, error) {
	s := &Suite{id: id}
	switch id {
	case X25519AES128GCMSHA256Ed25519:
		s.setHash(sha256.New, sha256.Size)
		s.aead = aesGCM128
		comb := newBaseCombOnce()
		s.kem = newX25519KEM(s.aead, comb)
		s.sig = newEd25519Signer(comb)
	case P256AES128GCMSHA256P256:
		s.setHash(sha256.New, sha256.Size)
		s.aead = aesGCM128
		s.kem = newStdKEM(kemP256, s.aead)
		s.sig = newECDSASigner(curveP256, sha256.New)
	case X25519ChaCha20Poly1305SHA256Ed25519:
		s.setHash(sha256.New, sha256.Size)
		s.aead = chacha20Poly1305
		comb := newBaseCombOnce()
		s.kem = newX25519KEM(s.aead, comb)
		s.sig = newEd25519Signer(comb)
	case X448AES256GCMSHA512Ed448:
		s.setHash(sha512.New, sha512.Size)
		s.aead = aesGCM256
		s.kem = newX448KEM(s.aead)
		s.sig = newEd448Signer()
	case P521AES256GCMSHA512P521:
		s.setHash(sha512.New, sha512.Size)
		s.aead = aesGCM256
		s.kem = newStdKEM(kemP521, s.aead)
		s.sig = newECDSASigner(curveP521, sha512.New)
	case X448ChaCha20Poly1305SHA512Ed448:
		s.setHash(sha512.New, sha512.Size)
		s.aead = chacha20Poly1305
		s.kem = newX448KEM(s.aead)
		s.sig = newEd448Signer()
	case P384AES256GCMSHA384P384:
		s.setHash(sha512.New384, sha512.Size384)
		s.aead = aesGCM256
		s.kem = newStdKEM(kemP384, s.aead)
		s.sig = newECDSASigner(curveP384, sha512.New384)
	default:
		return nil, fmt.Errorf("cipher suite 0x%04x: %w", uint16(id), ErrUnsupported)
	}
	return s, nil
}

func (s *Suite) setHash(h func() hash.Hash, n int) {
	s.newHash = h
	s.nh = n
	s.kdf256 = n == sha256.Size
}

// ID returns the suite's identifier.
func (s *Suite) ID() ID { return s.id }

// String returns the RFC 9420 name of the suite.
func (s *Suite) String() string { return s.id.String() }
