package suite

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"

	"filippo.io/edwards25519"
	"github.com/cloudflare/circl/math/fp25519"
)

// ed25519Key is an expanded Ed25519 private key (RFC 8032 §5.1.5): the
// clamped secret scalar, the nonce prefix and the public key, plus the
// second nonce prefix of long messages (see [ed25519Key.nonce]).
type ed25519Key struct {
	s            *edwards25519.Scalar
	prefix       [32]byte
	digestPrefix [32]byte
	pub          [32]byte
}

// digestNonceMin is the message length from which sign derives the nonce
// from the message's SHA-256 digest instead of the message itself.
const digestNonceMin = 16 << 10

// digestNonceLabel separates the long-message nonce prefix from every
// other use of the key's hash.
const digestNonceLabel = "mlsbackup ed25519 digest nonce v1"

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
	dp := sha512.Sum512(append([]byte(digestNonceLabel), k.prefix[:]...))
	copy(k.digestPrefix[:], dp[:32])
	copy(k.pub[:], new(edwards25519.Point).ScalarBaseMult(s).Bytes())
	return k, nil
}

// sign returns an Ed25519 signature of the concatenation of msg, hashing
// the parts in place instead of joining them: a GroupInfo with its ratchet
// tree is hundreds of kilobytes. Below [digestNonceMin] bytes it returns
// the same bytes as crypto/ed25519.Sign; from there on only the nonce is
// derived differently (see [ed25519Key.nonce]), and the signature is just
// as deterministic and verifies the same everywhere. The nonce point is
// the constant-time multiplication of [baseComb]; the one variable-time
// step, inverting its Z, is blinded (see [encodeBlinded]).
func (k *ed25519Key) sign(bc *baseComb, msg ...[]byte) []byte {
	r := k.nonce(msg)
	var R [32]byte
	var rp edPoint
	bc.mul(&rp, (*[32]byte)(r.Bytes()))
	encodeSecretPoint(&R, &rp)
	c := hashScalar(R[:], k.pub[:], msg)
	S := edwards25519.NewScalar().MultiplyAdd(c, k.s, r)
	sig := make([]byte, 0, ed25519.SignatureSize)
	sig = append(sig, R[:]...)
	return append(sig, S.Bytes()...)
}

// encodeSecretPoint writes the RFC 8032 encoding of P, a point computed
// from a secret (the nonce point R = rB), to out. Its projective Z also
// depends on the secret, so it is inverted blinded (see [encodeBlinded])
// with a fresh random ρ. The encoding does not depend on ρ, so signatures
// stay deterministic.
func encodeSecretPoint(out *[32]byte, P *edPoint) {
	var rho fe
	rand.Read(rho[:])
	encodeBlinded(out, P, &rho)
}

// encodeBlinded writes the encoding of P to out, computing 1/Z as
// ρ/(Z·ρ): only Z·ρ, uniformly random for a random ρ and so independent of
// the secret behind Z, goes through the faster variable-time inversion.
// Everything else is constant time. A ρ that is zero modulo p (probability
// 2^−254) falls back to the constant-time inversion.
func encodeBlinded(out *[32]byte, P *edPoint, rho *fe) {
	var zinv fe
	if feIsZero(rho) {
		invertConstantTime(&zinv, &P.z)
	} else {
		fp25519.Mul(&zinv, &P.z, rho)
		feInvert(&zinv, &zinv)
		fp25519.Mul(&zinv, &zinv, rho)
	}
	P.encodeWith(out, &zinv)
}

// nonce returns the secret nonce r of a signature of the concatenation
// of msg. Up to [digestNonceMin] bytes it is RFC 8032's SHA-512(prefix ‖
// msg). A longer message would be hashed twice with SHA-512 (nonce and
// challenge), which costs most of the time of signing a large GroupInfo on
// a machine without SHA-512 instructions; its nonce is instead
// SHA-512(digestPrefix ‖ SHA-256(msg)), with SHA-256 several times faster.
//
// Why this is as safe as RFC 8032's nonce: r stays a deterministic,
// secret, uniformly distributed function of the key and the message, so
// no randomness can fail; two messages share r only if their SHA-256
// digests collide; and digestPrefix, a separate secret derived from the
// prefix under its own label, keeps these inputs apart from the short
// messages' (prefix ‖ msg). Verifiers see an ordinary Ed25519 signature:
// they never learn how r was chosen, only R = rB.
func (k *ed25519Key) nonce(msg [][]byte) *edwards25519.Scalar {
	n := 0
	for _, m := range msg {
		n += len(m)
	}
	if n < digestNonceMin {
		return hashScalar(k.prefix[:], nil, msg)
	}
	h := sha256.New()
	for _, m := range msg {
		h.Write(m)
	}
	var d [sha256.Size]byte
	return hashScalar(k.digestPrefix[:], h.Sum(d[:0]), nil)
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
