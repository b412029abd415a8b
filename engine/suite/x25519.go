package suite

import (
	"crypto/subtle"

	"filippo.io/edwards25519"
	circlx25519 "github.com/cloudflare/circl/dh/x25519"
)

// x25519Size is the size of X25519 scalars, points and shared secrets, and
// Nsk = Npk = Nenc = Ndh of DHKEM(X25519) (RFC 7748, RFC 9180 §7.1).
const x25519Size = 32

// clampX25519 applies the scalar decoding of RFC 7748 §5 to k in place:
// clear the three low bits and the top bit, set bit 254.
func clampX25519(k *[x25519Size]byte) {
	k[0] &= 248
	k[31] &= 127
	k[31] |= 64
}

// x25519Base sets dst to X25519(scalar, 9), the public key of scalar.
//
// It multiplies the Edwards base point by the clamped scalar with the
// precomputed fixed-base tables of filippo.io/edwards25519 and maps the
// result to its Montgomery u-coordinate, which is several times cheaper
// than running the Montgomery ladder from u = 9. The clamped scalar is
// reduced modulo the prime order l, which does not change the product
// because the base point has order l; the product is never the identity
// because a clamped scalar is a multiple of 8 in [2^254, 2^255) and so
// never a multiple of l.
func x25519Base(dst, scalar *[x25519Size]byte) {
	s, err := edwards25519.NewScalar().SetBytesWithClamping(scalar[:])
	if err != nil {
		// SetBytesWithClamping fails only on a length other than 32.
		panic("suite: x25519 base multiplication: " + err.Error())
	}
	p := new(edwards25519.Point).ScalarBaseMult(s)
	copy(dst[:], p.BytesMontgomery())
}

// x25519DH sets dst to X25519(scalar, point) (RFC 7748 §5) and reports
// whether the result is not the all-zero value, which RFC 7748 §6.1 and
// RFC 9180 §7.1.4 require a DH to reject (point of small order).
//
// It runs the Montgomery ladder of github.com/cloudflare/circl (constant
// time; on amd64 in assembly with MULX/ADX when the CPU has them), which
// costs about two thirds of crypto/ecdh's, and, unlike crypto/ecdh, whose
// private-key constructor also computes the public key with a second
// ladder, it runs one ladder. As RFC 7748 requires, the top bit of point
// is ignored and non-canonical values are reduced.
func x25519DH(dst, scalar, point *[x25519Size]byte) bool {
	circlx25519.Shared((*circlx25519.Key)(dst), (*circlx25519.Key)(scalar), (*circlx25519.Key)(point))
	var zero [x25519Size]byte
	return subtle.ConstantTimeCompare(dst[:], zero[:]) == 0
}
