package suite

import (
	"encoding/binary"
	"math/bits"

	"filippo.io/edwards25519/field"
)

// This file inverts field elements modulo p = 2^255 − 19 in variable time
// with Bernstein and Yang's divsteps ("Fast constant-time gcd computation
// and modular inversion", 2019), in the batched, variable-time form: 62
// divsteps at a time are computed on the low 64 bits of f and g alone,
// giving a 2×2 matrix that is then applied to the full numbers. It takes
// about a third of the time of Fermat's p − 2 power (field.Element.Invert)
// on this code's machines. Its running time depends on its input, so it is
// only ever given public values (verification) or values blinded by a
// random factor (signing, see [encodeBlinded]).

// s62 is a signed integer in radix 2^62: Σ l[i]·2^(62·i). Normalized, the
// limbs l[0] … l[3] are in [0, 2^62) and l[4] carries the sign.
type s62 [5]int64

const (
	mask62 = 1<<62 - 1
	// batch is the number of divsteps per matrix.
	batch = 62
	// pInv62 is p^−1 mod 2^62 (p ≡ −19 mod 2^62).
	pInv62 = 0x39435e50d79435e5
)

// modulus62 is p in radix 2^62, with a negative lowest limb: 2^255 − 19 =
// 128·2^248 − 19.
func modulus62() s62 { return s62{-19, 0, 0, 0, 128} }

// i128 is a signed 128-bit accumulator.
type i128 struct {
	hi int64
	lo uint64
}

// mulAdd adds a·b to x.
func (x *i128) mulAdd(a, b int64) {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	// Signed correction of the unsigned product.
	hi -= uint64((a>>63)&b) + uint64((b>>63)&a)
	var c uint64
	x.lo, c = bits.Add64(x.lo, lo, 0)
	x.hi += int64(hi + c)
}

// low62 returns x's low 62 bits.
func (x *i128) low62() int64 { return int64(x.lo & mask62) }

// shift62 divides x by 2^62, rounding down.
func (x *i128) shift62() {
	x.lo = x.lo>>62 | uint64(x.hi)<<2
	x.hi >>= 62
}

// matrix is the transition of a batch of divsteps, scaled by 2^62:
// 2^62·(f', g') = (u·f + v·g, q·f + r·g).
type matrix struct{ u, v, q, r int64 }

// divsteps runs batch divsteps on the low 64 bits of f (odd) and g with
// eta = −delta, returning the new eta and the transition matrix.
func divsteps(eta int64, f, g uint64) (int64, matrix) {
	u, v, q, r := int64(1), int64(0), int64(0), int64(1)
	left := int64(batch)
	for {
		// Steps that only halve g (g even): each doubles u and v.
		zeros := int64(bits.TrailingZeros64(g))
		if zeros > left {
			zeros = left
		}
		eta -= zeros
		left -= zeros
		g >>= uint(zeros)
		u <<= uint(zeros)
		v <<= uint(zeros)
		if left == 0 {
			return eta, matrix{u, v, q, r}
		}
		// g is odd. If delta > 0, the next step swaps: (f, g) ← (g, −f).
		if eta < 0 {
			eta = -eta
			f, g = g, -f
			u, v, q, r = q, r, -u, -v
		}
		// Cancel up to six low bits of g with a multiple of f: that many
		// divsteps of the form g ← (g + f)/2 or g/2, none of them swapping
		// (eta ≥ limit − 1). f·(f² − 2) ≡ −1/f mod 64: one Newton step from
		// f·f ≡ 1 mod 8.
		limit := min(eta+1, left, 6)
		m := uint64(1)<<uint(limit) - 1
		w := (g * f * (f*f - 2)) & m
		g += w * f
		q += int64(w) * u
		r += int64(w) * v
	}
}

// updateFG sets (f, g) ← t·(f, g) / 2^62, which is exact.
func updateFG(f, g *s62, t matrix) { applyMatrix(f, g, t, 0, 0) }

// updateDE sets (d, e) ← t·(d, e) / 2^62 mod p, adding the multiples of p
// that make the division exact. d and e stay in (−2p, p).
func updateDE(d, e *s62, t matrix) {
	dNeg, eNeg := d[4]>>63, e[4]>>63
	md := (t.u & dNeg) + (t.v & eNeg)
	me := (t.q & dNeg) + (t.r & eNeg)
	// The low 64 bits of the two new values before the correction.
	cd := uint64(t.u)*uint64(d[0]) + uint64(t.v)*uint64(e[0])
	ce := uint64(t.q)*uint64(d[0]) + uint64(t.r)*uint64(e[0])
	md -= int64((pInv62*cd + uint64(md)) & mask62)
	me -= int64((pInv62*ce + uint64(me)) & mask62)
	applyMatrix(d, e, t, md, me)
}

// applyMatrix sets (a, b) ← (t·(a, b) + p·(ma, mb)) / 2^62; the sum must
// be divisible by 2^62.
func applyMatrix(a, b *s62, t matrix, ma, mb int64) {
	p := modulus62()
	var ca, cb i128
	for i := 0; i < 5; i++ {
		ca.mulAdd(t.u, a[i])
		ca.mulAdd(t.v, b[i])
		cb.mulAdd(t.q, a[i])
		cb.mulAdd(t.r, b[i])
		if p[i] != 0 {
			ca.mulAdd(p[i], ma)
			cb.mulAdd(p[i], mb)
		}
		if i > 0 {
			a[i-1] = ca.low62()
			b[i-1] = cb.low62()
		}
		ca.shift62()
		cb.shift62()
	}
	a[4] = int64(ca.lo)
	b[4] = int64(cb.lo)
}

// isZero reports whether x is zero.
func (x *s62) isZero() bool { return x[0]|x[1]|x[2]|x[3]|x[4] == 0 }

// normalize carries x's limbs so that l[0] … l[3] are in [0, 2^62).
func (x *s62) normalize() {
	for i := 0; i < 4; i++ {
		x[i+1] += x[i] >> 62
		x[i] &= mask62
	}
}

// addScaled sets x ← x + k·y for a small k, then normalizes.
func (x *s62) addScaled(y *s62, k int64) {
	for i := range x {
		x[i] += k * y[i]
	}
	x.normalize()
}

// less reports whether the normalized x is below the normalized y.
func (x *s62) less(y *s62) bool {
	for i := 4; i >= 0; i-- {
		if x[i] != y[i] {
			return x[i] < y[i]
		}
	}
	return false
}

// s62FromBytes reads a 32-byte little-endian integer below 2^256.
func s62FromBytes(b *[32]byte) s62 {
	w0 := binary.LittleEndian.Uint64(b[0:])
	w1 := binary.LittleEndian.Uint64(b[8:])
	w2 := binary.LittleEndian.Uint64(b[16:])
	w3 := binary.LittleEndian.Uint64(b[24:])
	return s62{
		int64(w0 & mask62),
		int64((w0>>62 | w1<<2) & mask62),
		int64((w1>>60 | w2<<4) & mask62),
		int64((w2>>58 | w3<<6) & mask62),
		int64(w3 >> 56),
	}
}

// bytes writes the normalized x, which must be in [0, 2^256), as 32
// little-endian bytes.
func (x *s62) bytes(out *[32]byte) {
	binary.LittleEndian.PutUint64(out[0:], uint64(x[0])|uint64(x[1])<<62)
	binary.LittleEndian.PutUint64(out[8:], uint64(x[1])>>2|uint64(x[2])<<60)
	binary.LittleEndian.PutUint64(out[16:], uint64(x[2])>>4|uint64(x[3])<<58)
	binary.LittleEndian.PutUint64(out[24:], uint64(x[3])>>6|uint64(x[4])<<56)
}

// invertVartime sets out = 1/z mod p (0 if z is 0, like
// field.Element.Invert) and returns out. Variable time: z must be public
// or blinded.
func invertVartime(out, z *field.Element) *field.Element {
	var b [32]byte
	copy(b[:], z.Bytes())
	invertBytes(&b)
	if _, err := out.SetBytes(b[:]); err != nil {
		panic("suite: 32-byte field encoding rejected") // broken invariant: SetBytes takes any 32 bytes
	}
	return out
}

// invertBytes replaces the canonical little-endian encoding b of z (z < p)
// with that of 1/z mod p (0 if z is 0). Variable time.
func invertBytes(b *[32]byte) {
	f, g := modulus62(), s62FromBytes(b)
	f.normalize()
	var d, e s62
	e[0] = 1
	eta := int64(-1)
	for !g.isZero() {
		var t matrix
		eta, t = divsteps(eta, uint64(f[0])|uint64(f[1])<<62, uint64(g[0])|uint64(g[1])<<62)
		updateDE(&d, &e, t)
		updateFG(&f, &g, t)
	}
	// f = ±gcd(p, z) = ±1 (z ≠ 0), and d·z ≡ f: 1/z = ±d.
	if f[4] < 0 {
		for i := range d {
			d[i] = -d[i]
		}
	}
	d.normalize()
	p := modulus62()
	p.normalize()
	for d[4] < 0 {
		d.addScaled(&p, 1)
	}
	for !d.less(&p) {
		d.addScaled(&p, -1)
	}
	d.bytes(b)
}
