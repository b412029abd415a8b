package suite

import (
	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
	"github.com/cloudflare/circl/math/fp25519"
)

// This file holds the twisted Edwards arithmetic (a = -1) of the Ed25519
// verifier's precomputed tables, on the field elements of
// github.com/cloudflare/circl/math/fp25519: four 64-bit limbs, multiplied
// in assembly with MULX/ADX where the CPU has them, about a fifth faster
// than filippo.io/edwards25519/field here. Elements stay below 2^256
// (congruent, not reduced) until they are encoded or compared.
//
// The field operations, the doubling and the additions (with a constant
// neg) are constant time, so the signer's fixed-base multiplication
// (ed25519_base.go) uses them on secrets. Everything else here — encode,
// isIdentity, toNiels, and additions whose neg depends on data — is
// variable time and only ever touches public keys, signatures, messages
// and table entries.

// fe is a field element modulo 2^255 − 19, little endian, below 2^256.
type fe = fp25519.Elt

// feFrom sets out to the value of e.
func feFrom(out *fe, e *field.Element) {
	copy(out[:], e.Bytes())
}

// feBytes writes the canonical encoding of a (reduced modulo p) to out.
func feBytes(out *[32]byte, a *fe) {
	r := *a
	fp25519.Modp(&r)
	*out = r
}

// feEqual reports whether a and b are equal modulo p.
func feEqual(a, b *fe) bool {
	var x, y [32]byte
	feBytes(&x, a)
	feBytes(&y, b)
	return x == y
}

// feIsZero reports whether a is zero modulo p.
func feIsZero(a *fe) bool {
	var x [32]byte
	feBytes(&x, a)
	return x == [32]byte{}
}

// feInvert sets out = 1/a mod p (0 for 0), in variable time.
func feInvert(out, a *fe) {
	var b [32]byte
	feBytes(&b, a)
	invertBytes(&b)
	*out = b
}

// invertConstantTime sets out = 1/a mod p with field.Element's
// constant-time power, for secret values.
func invertConstantTime(out, a *fe) {
	var b [32]byte
	feBytes(&b, a)
	var e field.Element
	if _, err := e.SetBytes(b[:]); err != nil {
		panic("suite: 32-byte field encoding rejected") // broken invariant: SetBytes takes any 32 bytes
	}
	e.Invert(&e)
	feFrom(out, &e)
}

// edPoint is a point in extended coordinates (X:Y:Z:T), x = X/Z, y = Y/Z,
// x·y = T/Z.
type edPoint struct {
	x, y, z, t fe
}

// nielsPoint is an affine point in the form (y+x, y−x, 2d·x·y) that a mixed
// addition consumes with three multiplications.
type nielsPoint struct {
	ypx, ymx, t2d fe
}

// curve holds the constants of the arithmetic, computed once per verifier.
type curve struct {
	d2 fe // 2·d, d = −121665/121666
}

func newCurve() *curve {
	var num, den, d field.Element
	num.Mult32(new(field.Element).One(), 121665)
	den.Mult32(new(field.Element).One(), 121666)
	d.Multiply(&num, den.Invert(&den))
	d.Negate(&d)
	d.Add(&d, &d)
	c := &curve{}
	feFrom(&c.d2, &d)
	return c
}

// identity sets p to the neutral element (0, 1).
func (p *edPoint) identity() *edPoint {
	*p = edPoint{}
	fp25519.SetOne(&p.y)
	fp25519.SetOne(&p.z)
	return p
}

// fromPoint sets p to the coordinates of q.
func (p *edPoint) fromPoint(q *edwards25519.Point) *edPoint {
	x, y, z, t := q.ExtendedCoordinates()
	feFrom(&p.x, x)
	feFrom(&p.y, y)
	feFrom(&p.z, z)
	feFrom(&p.t, t)
	return p
}

// cachedPoint is a point in the form (Y+X, Y−X, 2Z, 2d·T) that an
// addition consumes with four multiplications.
type cachedPoint struct {
	ypx, ymx, z2, t2d fe
}

// completedPoint is the result (E, F, G, H) of an addition or doubling
// before the final multiplications: X = E·F, Y = G·H, Z = F·G, T = E·H.
type completedPoint struct {
	e, f, g, h fe
}

// toExt sets p to the extended coordinates of r.
func (r *completedPoint) toExt(p *edPoint) {
	fp25519.Mul(&p.x, &r.e, &r.f)
	fp25519.Mul(&p.y, &r.g, &r.h)
	fp25519.Mul(&p.z, &r.f, &r.g)
	fp25519.Mul(&p.t, &r.e, &r.h)
}

// toProj sets p's X, Y and Z from r, leaving T stale: enough for a
// doubling.
func (r *completedPoint) toProj(p *edPoint) {
	fp25519.Mul(&p.x, &r.e, &r.f)
	fp25519.Mul(&p.y, &r.g, &r.h)
	fp25519.Mul(&p.z, &r.f, &r.g)
}

// dbl sets r = 2·a, reading only a's X, Y and Z.
func dbl(r *completedPoint, a *edPoint) {
	var xx, yy, zz2 fe
	fp25519.Sqr(&xx, &a.x)
	fp25519.Sqr(&yy, &a.y)
	fp25519.Sqr(&zz2, &a.z)
	fp25519.Add(&zz2, &zz2, &zz2)
	fp25519.Add(&r.e, &a.x, &a.y)
	fp25519.Sqr(&r.e, &r.e)
	fp25519.Sub(&r.e, &r.e, &xx)
	fp25519.Sub(&r.e, &r.e, &yy) // 2XY
	fp25519.Sub(&r.g, &yy, &xx)  // Y² − X² (a = −1: aX² + Y²)
	fp25519.Sub(&r.f, &r.g, &zz2)
	fp25519.Add(&r.h, &xx, &yy)
	fp25519.Neg(&r.h, &r.h) // −X² − Y²
}

// toCached sets q to the cached form of p.
func (c *curve) toCached(q *cachedPoint, p *edPoint) {
	fp25519.Add(&q.ypx, &p.y, &p.x)
	fp25519.Sub(&q.ymx, &p.y, &p.x)
	fp25519.Add(&q.z2, &p.z, &p.z)
	fp25519.Mul(&q.t2d, &p.t, &c.d2)
}

// addCached sets r = a + q, or a − q if neg is set.
func addCached(r *completedPoint, a *edPoint, q *cachedPoint, neg bool) {
	var pd fe
	fp25519.Mul(&pd, &a.z, &q.z2)
	addParts(r, a, &q.ypx, &q.ymx, &q.t2d, &pd, neg)
}

// addNielsC sets r = a + q, or a − q if neg is set (mixed addition: q's Z
// is 1, so D = 2·Z1).
func addNielsC(r *completedPoint, a *edPoint, q *nielsPoint, neg bool) {
	var pd fe
	fp25519.Add(&pd, &a.z, &a.z)
	addParts(r, a, &q.ypx, &q.ymx, &q.t2d, &pd, neg)
}

// addParts adds to a the point whose y+x, y−x and 2d·t are ypx, ymx and
// t2d (subtracts it if neg is set), given D = 2·Z1·Z2 in pd.
func addParts(r *completedPoint, a *edPoint, ypx, ymx, t2d, pd *fe, neg bool) {
	var pa, pb, pc fe
	if neg {
		// −(x, y) = (−x, y): y+x and y−x swap places, 2dxy changes sign.
		ypx, ymx = ymx, ypx
	}
	fp25519.Sub(&pa, &a.y, &a.x)
	fp25519.Mul(&pa, &pa, ymx)
	fp25519.Add(&pb, &a.y, &a.x)
	fp25519.Mul(&pb, &pb, ypx)
	fp25519.Mul(&pc, &a.t, t2d)
	finishAdd(r, &pa, &pb, &pc, pd, neg)
}

// finishAdd completes an addition from A = (Y1−X1)(Y2−X2),
// B = (Y1+X1)(Y2+X2), C = 2d·T1·T2 (negated when the second point is) and
// D = 2·Z1·Z2.
func finishAdd(r *completedPoint, pa, pb, pc, pd *fe, neg bool) {
	fp25519.Sub(&r.e, pb, pa)
	fp25519.Add(&r.h, pb, pa)
	if neg {
		fp25519.Add(&r.f, pd, pc)
		fp25519.Sub(&r.g, pd, pc)
	} else {
		fp25519.Sub(&r.f, pd, pc)
		fp25519.Add(&r.g, pd, pc)
	}
}

// addNiels sets p = a + q, or a − q if neg is set (mixed addition, seven
// multiplications).
func addNiels(p, a *edPoint, q *nielsPoint, neg bool) {
	var r completedPoint
	addNielsC(&r, a, q, neg)
	r.toExt(p)
}

// isIdentity reports whether p is the neutral element (0, 1).
func (p *edPoint) isIdentity() bool {
	return feIsZero(&p.x) && feEqual(&p.y, &p.z)
}

// encode writes the RFC 8032 encoding of p (canonical y, sign of x in the
// top bit) to out.
func (p *edPoint) encode(out *[32]byte) {
	var zinv fe
	feInvert(&zinv, &p.z)
	p.encodeWith(out, &zinv)
}

// encodeWith writes the encoding of p to out given zinv = 1/Z, in
// constant time.
func (p *edPoint) encodeWith(out *[32]byte, zinv *fe) {
	var x, y fe
	fp25519.Mul(&x, &p.x, zinv)
	fp25519.Mul(&y, &p.y, zinv)
	var xb [32]byte
	feBytes(&xb, &x)
	feBytes(out, &y)
	out[31] |= xb[0] & 1 << 7
}

// toNiels converts the points of ps to affine (y+x, y−x, 2d·x·y) form with
// one field inversion (Montgomery's trick), writing them to out.
func (c *curve) toNiels(out []nielsPoint, ps []edPoint) {
	if len(ps) == 0 {
		return
	}
	// prefix[i] = z_0 · … · z_i
	prefix := make([]fe, len(ps))
	prefix[0] = ps[0].z
	for i := 1; i < len(ps); i++ {
		fp25519.Mul(&prefix[i], &prefix[i-1], &ps[i].z)
	}
	var inv, zinv, x, y fe
	feInvert(&inv, &prefix[len(ps)-1])
	for i := len(ps) - 1; i >= 0; i-- {
		if i > 0 {
			fp25519.Mul(&zinv, &inv, &prefix[i-1])
			fp25519.Mul(&inv, &inv, &ps[i].z)
		} else {
			zinv = inv
		}
		fp25519.Mul(&x, &ps[i].x, &zinv)
		fp25519.Mul(&y, &ps[i].y, &zinv)
		n := &out[i]
		fp25519.Add(&n.ypx, &y, &x)
		fp25519.Sub(&n.ymx, &y, &x)
		fp25519.Mul(&n.t2d, &x, &y)
		fp25519.Mul(&n.t2d, &n.t2d, &c.d2)
	}
}
