package suite

import (
	"crypto/cipher"
	"crypto/fips140"
	"errors"
	"fmt"
)

// Go's FIPS 140-3 mode: with GODEBUG=fips140=only the standard library
// refuses, with an error or a panic, every algorithm its Go Cryptographic
// Module does not approve. Of the MLS suites, only those on the NIST
// curves use approved algorithms alone (DHKEM(P-256/P-384/P-521) HPKE,
// ECDSA, AES-GCM, SHA-2, HMAC and HKDF, all from the standard library);
// X25519, X448, Ed448 and ChaCha20-Poly1305 are not approved, and X448 and
// Ed448 come from circl, outside the module. New refuses those suites in
// that mode at once, so that creating a group or a KeyPackage fails with
// a clear error rather than an operation deep inside a commit.

// ErrNotFIPSApproved means the cipher suite uses algorithms the Go
// Cryptographic Module does not approve, and FIPS 140-only mode is on.
var ErrNotFIPSApproved = errors.New("suite: cipher suite not approved in FIPS 140-only mode")

// ErrShortKey means FIPS 140-only mode is on and a secret that is to key
// HMAC or HKDF is shorter than the 112 bits the module requires.
var ErrShortKey = errors.New("suite: key shorter than 112 bits in FIPS 140-only mode")

// CheckSecret returns an error wrapping [ErrShortKey] if FIPS 140-only
// mode is on and secret is shorter than 112 bits. [Suite.Extract] and
// [Suite.Expand] panic on such a key in that mode (crypto/hkdf refuses it
// and they return no error), so a secret the engine does not derive itself
// — an external PSK — is checked with CheckSecret first; received path
// secrets must be Nh bytes long.
func CheckSecret(secret []byte) error {
	if fips140.Enforced() && len(secret) < 112/8 {
		return fmt.Errorf("secret of %d bytes: %w", len(secret), ErrShortKey)
	}
	return nil
}

// FIPSApproved reports whether the suite uses only algorithms the Go
// Cryptographic Module approves, and so runs with GODEBUG=fips140=only.
func (id ID) FIPSApproved() bool {
	switch id {
	case P256AES128GCMSHA256P256, P384AES256GCMSHA384P384, P521AES256GCMSHA512P521:
		return true
	}
	return false
}

// checkFIPS returns an error wrapping [ErrNotFIPSApproved] and
// [ErrUnsupported] if FIPS 140-only enforcement is on and id is not
// approved.
func checkFIPS(id ID) error {
	if fips140.Enforced() && !id.FIPSApproved() {
		return fmt.Errorf("cipher suite %v: %w: %w", id, ErrNotFIPSApproved, ErrUnsupported)
	}
	return nil
}

// newGCM is cipher.NewGCM for the MLS AEAD (RFC 9420 §5.3), whose nonce
// the protocol derives: a fresh key and nonce per message and generation
// from the secret tree (§9), the nonce XORed with a random reuse guard in
// PrivateMessages (§6.3.1), and the Welcome's and sender data's from
// their own secrets. The Go Cryptographic Module approves AES-GCM but, in
// FIPS 140-only mode, refuses nonces it did not construct itself (it
// offers only random nonces and the TLS, SSH, QUIC and HPKE
// constructions), so this one call runs outside that enforcement
// (fips140.WithoutEnforcement). Every other primitive of the approved
// suites runs under it.
func newGCM(b cipher.Block) (aead cipher.AEAD, err error) {
	fips140.WithoutEnforcement(func() { aead, err = cipher.NewGCM(b) })
	return aead, err
}
