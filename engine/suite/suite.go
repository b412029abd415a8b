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
// Every primitive comes from a vetted library; this package only
// assembles the MLS labels around them:
//
//   - HPKE (RFC 9180, base mode): crypto/hpke for DHKEM(P-256),
//     DHKEM(P-384) and DHKEM(P-521); github.com/cloudflare/circl/hpke for
//     DHKEM(X25519) (faster there than crypto/hpke) and DHKEM(X448), which
//     the standard library lacks. For X448 DeriveKeyPair assembles the
//     RFC 9180 labels around crypto/hkdf, as circl derives only from an ikm
//     of 56 bytes and MLS passes 64.
//   - Signatures: crypto/ed25519 (RFC 8032, deterministic), crypto/ecdsa
//     (randomized nonces) and github.com/cloudflare/circl/sign/ed448.
//   - Hash, HMAC and HKDF: crypto/sha256, crypto/sha512, crypto/hmac,
//     crypto/hkdf.
//   - AEAD: crypto/aes with crypto/cipher's GCM, and
//     golang.org/x/crypto/chacha20poly1305.
//
// HPKE private keys are parsed for each operation and dropped after it:
// no Suite keeps one. A Suite keeps the last signature private key it
// parsed: signature keys are long-term, and parsing one costs a scalar
// multiplication.
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
	// verified remembers successful signature verifications.
	verified *verified
}

// New returns the [Suite] for id, or an error wrapping [ErrUnsupported]
// (and [ErrNotFIPSApproved] for a suite FIPS 140-only mode refuses).
func New(id ID) (*Suite, error) {
	if err := checkFIPS(id); err != nil {
		return nil, err
	}
	s := &Suite{id: id, verified: newVerified()}
	switch id {
	case X25519AES128GCMSHA256Ed25519:
		s.setHash(sha256.New, sha256.Size)
		s.aead = aesGCM128
		s.kem = newX25519KEM(s.aead)
		s.sig = newEd25519Signer()
	case P256AES128GCMSHA256P256:
		s.setHash(sha256.New, sha256.Size)
		s.aead = aesGCM128
		s.kem = newStdKEM(kemP256, s.aead)
		s.sig = newECDSASigner(curveP256, sha256.New)
	case X25519ChaCha20Poly1305SHA256Ed25519:
		s.setHash(sha256.New, sha256.Size)
		s.aead = chacha20Poly1305
		s.kem = newX25519KEM(s.aead)
		s.sig = newEd25519Signer()
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
}

// ID returns the suite's identifier.
func (s *Suite) ID() ID { return s.id }

// String returns the RFC 9420 name of the suite.
func (s *Suite) String() string { return s.id.String() }
