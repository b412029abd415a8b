package suite

import (
	"crypto/ed25519"
	"crypto/sha512"
	"fmt"

	"filippo.io/edwards25519"
)

// ed25519Key is an expanded Ed25519 private key (RFC 8032 §5.1.5): the
// clamped secret scalar, the nonce prefix and the public key.
type ed25519Key struct {
	s      *edwards25519.Scalar
	prefix [32]byte
	pub    [32]byte
}

// parseEd25519 expands a 32-byte seed.
func parseEd25519(seed []byte) (*ed25519Key, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("ed25519 private key of %d bytes: %w", len(seed), ErrInvalidKey)
	}
	h := sha512.Sum512(seed)
	s, err := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	if err != nil {
		return nil, fmt.Errorf("ed25519 private key: %w", ErrInvalidKey) // unreachable: 32 bytes
	}
	k := &ed25519Key{s: s}
	copy(k.prefix[:], h[32:])
	copy(k.pub[:], new(edwards25519.Point).ScalarBaseMult(s).Bytes())
	return k, nil
}

// sign returns the RFC 8032 Ed25519 signature of the concatenation of msg,
// the same bytes crypto/ed25519.Sign returns for it, hashing the parts in
// place instead of joining them: a GroupInfo with its ratchet tree is
// hundreds of kilobytes. It uses only edwards25519's constant-time
// operations on the secret scalar and the nonce.
func (k *ed25519Key) sign(msg ...[]byte) []byte {
	r := hashScalar(k.prefix[:], nil, msg)
	R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()
	c := hashScalar(R, k.pub[:], msg)
	S := edwards25519.NewScalar().MultiplyAdd(c, k.s, r)
	sig := make([]byte, 0, ed25519.SignatureSize)
	sig = append(sig, R...)
	return append(sig, S.Bytes()...)
}

// hashScalar returns SHA-512(a ‖ b ‖ the parts of msg) reduced modulo the
// group order: the nonce (a = prefix) and the challenge (a = R, b = A) of
// RFC 8032 Ed25519.
func hashScalar(a, b []byte, msg [][]byte) *edwards25519.Scalar {
	h := sha512.New()
	h.Write(a)
	h.Write(b)
	for _, m := range msg {
		h.Write(m)
	}
	var digest [sha512.Size]byte
	s, err := edwards25519.NewScalar().SetUniformBytes(h.Sum(digest[:0]))
	if err != nil {
		panic("suite: 64-byte digest rejected") // broken invariant: SetUniformBytes takes any 64 bytes
	}
	return s
}
