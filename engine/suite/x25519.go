package suite

import (
	"crypto/subtle"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// x25519Size is the size of X25519 scalars, points and shared secrets, and
// Nsk = Npk = Nenc = Ndh of DHKEM(X25519) (RFC 7748, RFC 9180 §7.1).
const x25519Size = 32

// x25519A24 is (486662 - 2) / 4, the ladder constant of RFC 7748 §5.
const x25519A24 = 121665

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
func x25519DH(dst, scalar, point *[x25519Size]byte) bool {
	x2, z2 := x25519Ladder(scalar, point)
	z2.Invert(&z2)
	x2.Multiply(&x2, &z2)
	return x25519Output(dst, &x2)
}

// x25519BaseAndDH sets pub to X25519(scalar, 9) and dh to X25519(scalar,
// point), as HPKE's Encap needs with an ephemeral scalar, sharing one field
// inversion between the two (Montgomery's trick: 1/a = b/(ab) and 1/b =
// a/(ab)), and reports whether dh is not all-zero. When it is all-zero
// (point of small order) pub is meaningless and must be discarded.
func x25519BaseAndDH(pub, dh, scalar, point *[x25519Size]byte) bool {
	s, err := edwards25519.NewScalar().SetBytesWithClamping(scalar[:])
	if err != nil {
		// SetBytesWithClamping fails only on a length other than 32.
		panic("suite: x25519 base multiplication: " + err.Error())
	}
	p := new(edwards25519.Point).ScalarBaseMult(s)
	// The Montgomery u of the Edwards point (X:Y:Z:T) is (Z+Y)/(Z-Y)
	// (RFC 7748 §4.1); Z-Y is zero only for the identity, which a clamped
	// scalar never gives (see x25519Base).
	_, y, z, _ := p.ExtendedCoordinates()
	var num, den field.Element
	num.Add(z, y)
	den.Subtract(z, y)

	x2, z2 := x25519Ladder(scalar, point)

	var inv, t field.Element
	inv.Multiply(&den, &z2)
	inv.Invert(&inv) // 1/(den·z2), zero when z2 is zero
	t.Multiply(&inv, &z2)
	t.Multiply(&t, &num)
	copy(pub[:], t.Bytes())
	t.Multiply(&inv, &den)
	t.Multiply(&t, &x2)
	return x25519Output(dh, &t)
}

// x25519Output encodes u into dst and reports whether it is not zero.
func x25519Output(dst *[x25519Size]byte, u *field.Element) bool {
	copy(dst[:], u.Bytes())
	var zero [x25519Size]byte
	return subtle.ConstantTimeCompare(dst[:], zero[:]) == 0
}

// x25519Ladder runs the constant-time Montgomery ladder of RFC 7748 §5 for
// the clamped scalar and the u-coordinate point and returns the projective
// result (x2 : z2); z2 is zero when the result is the point at infinity.
// As RFC 7748 requires, the top bit of point is ignored and non-canonical
// values are reduced.
//
// Unlike crypto/ecdh, whose private-key constructor also computes the
// public key with a second ladder, a DH here costs one ladder.
func x25519Ladder(scalar, point *[x25519Size]byte) (x2, z2 field.Element) {
	k := *scalar
	clampX25519(&k)

	var x1, x3, z3 field.Element
	if _, err := x1.SetBytes(point[:]); err != nil {
		// SetBytes fails only on a length other than 32.
		panic("suite: x25519 point decoding: " + err.Error())
	}
	x2.One()
	z2.Zero()
	x3.Set(&x1)
	z3.One()

	var a, aa, b, bb, e, c, d, da, cb, t field.Element
	swap := 0
	for i := 254; i >= 0; i-- {
		bit := int(k[i/8]>>(i%8)) & 1
		swap ^= bit
		x2.Swap(&x3, swap)
		z2.Swap(&z3, swap)
		swap = bit

		a.Add(&x2, &z2)
		aa.Square(&a)
		b.Subtract(&x2, &z2)
		bb.Square(&b)
		e.Subtract(&aa, &bb)
		c.Add(&x3, &z3)
		d.Subtract(&x3, &z3)
		da.Multiply(&d, &a)
		cb.Multiply(&c, &b)

		t.Add(&da, &cb)
		x3.Square(&t)
		t.Subtract(&da, &cb)
		t.Square(&t)
		z3.Multiply(&x1, &t)
		x2.Multiply(&aa, &bb)
		t.Mult32(&e, x25519A24)
		t.Add(&aa, &t)
		z2.Multiply(&e, &t)
	}
	x2.Swap(&x3, swap)
	z2.Swap(&z3, swap)
	return x2, z2
}
