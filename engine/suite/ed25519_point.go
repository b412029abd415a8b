package suite

import (
	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// This file holds the twisted Edwards arithmetic (a = -1) of the Ed25519
// verifier's precomputed tables, on the field elements of
// filippo.io/edwards25519/field. Everything here is variable time: it only
// ever touches public keys, signatures and messages.

// edPoint is a point in extended coordinates (X:Y:Z:T), x = X/Z, y = Y/Z,
// x·y = T/Z.
type edPoint struct {
	x, y, z, t field.Element
}

// nielsPoint is an affine point in the form (y+x, y−x, 2d·x·y) that a mixed
// addition consumes with three multiplications.
type nielsPoint struct {
	ypx, ymx, t2d field.Element
}

// curve holds the constants of the arithmetic, computed once per verifier
// (field elements are mutable, so they are not package variables).
type curve struct {
	d2 field.Element // 2·d, d = −121665/121666
}

func newCurve() *curve {
	var num, den, d field.Element
	num.Mult32(new(field.Element).One(), 121665)
	den.Mult32(new(field.Element).One(), 121666)
	d.Multiply(&num, den.Invert(&den))
	d.Negate(&d)
	c := &curve{}
	c.d2.Add(&d, &d)
	return c
}

// identity sets p to the neutral element (0, 1).
func (p *edPoint) identity() *edPoint {
	p.x.Zero()
	p.y.One()
	p.z.One()
	p.t.Zero()
	return p
}

// fromPoint sets p to the coordinates of q.
func (p *edPoint) fromPoint(q *edwards25519.Point) *edPoint {
	x, y, z, t := q.ExtendedCoordinates()
	p.x.Set(x)
	p.y.Set(y)
	p.z.Set(z)
	p.t.Set(t)
	return p
}

// cachedPoint is a point in the form (Y+X, Y−X, 2Z, 2d·T) that an
// addition consumes with four multiplications.
type cachedPoint struct {
	ypx, ymx, z2, t2d field.Element
}

// completedPoint is the result (E, F, G, H) of an addition or doubling
// before the final multiplications: X = E·F, Y = G·H, Z = F·G, T = E·H.
type completedPoint struct {
	e, f, g, h field.Element
}

// toExt sets p to the extended coordinates of r.
func (r *completedPoint) toExt(p *edPoint) {
	p.x.Multiply(&r.e, &r.f)
	p.y.Multiply(&r.g, &r.h)
	p.z.Multiply(&r.f, &r.g)
	p.t.Multiply(&r.e, &r.h)
}

// toProj sets p's X, Y and Z from r, leaving T stale: enough for a
// doubling.
func (r *completedPoint) toProj(p *edPoint) {
	p.x.Multiply(&r.e, &r.f)
	p.y.Multiply(&r.g, &r.h)
	p.z.Multiply(&r.f, &r.g)
}

// dbl sets r = 2·a, reading only a's X, Y and Z.
func dbl(r *completedPoint, a *edPoint) {
	var xx, yy, zz2 field.Element
	xx.Square(&a.x)
	yy.Square(&a.y)
	zz2.Square(&a.z)
	zz2.Add(&zz2, &zz2)
	r.e.Add(&a.x, &a.y)
	r.e.Square(&r.e)
	r.e.Subtract(&r.e, &xx)
	r.e.Subtract(&r.e, &yy) // 2XY
	r.g.Subtract(&yy, &xx)  // Y² − X² (a = −1: aX² + Y²)
	r.f.Subtract(&r.g, &zz2)
	r.h.Negate(&xx)
	r.h.Subtract(&r.h, &yy) // −X² − Y²
}

// toCached sets q to the cached form of p.
func (c *curve) toCached(q *cachedPoint, p *edPoint) {
	q.ypx.Add(&p.y, &p.x)
	q.ymx.Subtract(&p.y, &p.x)
	q.z2.Add(&p.z, &p.z)
	q.t2d.Multiply(&p.t, &c.d2)
}

// addCached sets r = a + q, or a − q if neg is set.
func addCached(r *completedPoint, a *edPoint, q *cachedPoint, neg bool) {
	var pd field.Element
	pd.Multiply(&a.z, &q.z2)
	addParts(r, a, &q.ypx, &q.ymx, &q.t2d, &pd, neg)
}

// addNielsC sets r = a + q, or a − q if neg is set (mixed addition: q's Z
// is 1, so D = 2·Z1).
func addNielsC(r *completedPoint, a *edPoint, q *nielsPoint, neg bool) {
	var pd field.Element
	pd.Add(&a.z, &a.z)
	addParts(r, a, &q.ypx, &q.ymx, &q.t2d, &pd, neg)
}

// addParts adds to a the point whose y+x, y−x and 2d·t are ypx, ymx and
// t2d (subtracts it if neg is set), given D = 2·Z1·Z2 in pd.
func addParts(r *completedPoint, a *edPoint, ypx, ymx, t2d, pd *field.Element, neg bool) {
	var pa, pb, pc field.Element
	if neg {
		// −(x, y) = (−x, y): y+x and y−x swap places, 2dxy changes sign.
		ypx, ymx = ymx, ypx
	}
	pa.Subtract(&a.y, &a.x)
	pa.Multiply(&pa, ymx)
	pb.Add(&a.y, &a.x)
	pb.Multiply(&pb, ypx)
	pc.Multiply(&a.t, t2d)
	finishAdd(r, &pa, &pb, &pc, pd, neg)
}

// finishAdd completes an addition from A = (Y1−X1)(Y2−X2),
// B = (Y1+X1)(Y2+X2), C = 2d·T1·T2 (negated when the second point is) and
// D = 2·Z1·Z2.
func finishAdd(r *completedPoint, pa, pb, pc, pd *field.Element, neg bool) {
	r.e.Subtract(pb, pa)
	r.h.Add(pb, pa)
	if neg {
		r.f.Add(pd, pc)
		r.g.Subtract(pd, pc)
	} else {
		r.f.Subtract(pd, pc)
		r.g.Add(pd, pc)
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
	var zero field.Element
	return p.x.Equal(&zero) == 1 && p.y.Equal(&p.z) == 1
}

// encode writes the RFC 8032 encoding of p (canonical y, sign of x in the
// top bit) to out.
func (p *edPoint) encode(out *[32]byte) {
	var zinv, x, y field.Element
	invertVartime(&zinv, &p.z)
	x.Multiply(&p.x, &zinv)
	y.Multiply(&p.y, &zinv)
	copy(out[:], y.Bytes())
	out[31] |= byte(x.IsNegative() << 7)
}

// toNiels converts the points of ps to affine (y+x, y−x, 2d·x·y) form with
// one field inversion (Montgomery's trick), writing them to out.
func (c *curve) toNiels(out []nielsPoint, ps []edPoint) {
	if len(ps) == 0 {
		return
	}
	// prefix[i] = z_0 · … · z_i
	prefix := make([]field.Element, len(ps))
	prefix[0].Set(&ps[0].z)
	for i := 1; i < len(ps); i++ {
		prefix[i].Multiply(&prefix[i-1], &ps[i].z)
	}
	var inv, zinv, x, y field.Element
	invertVartime(&inv, &prefix[len(ps)-1])
	for i := len(ps) - 1; i >= 0; i-- {
		if i > 0 {
			zinv.Multiply(&inv, &prefix[i-1])
			inv.Multiply(&inv, &ps[i].z)
		} else {
			zinv.Set(&inv)
		}
		x.Multiply(&ps[i].x, &zinv)
		y.Multiply(&ps[i].y, &zinv)
		n := &out[i]
		n.ypx.Add(&y, &x)
		n.ymx.Subtract(&y, &x)
		n.t2d.Multiply(&x, &y)
		n.t2d.Multiply(&n.t2d, &c.d2)
	}
}
