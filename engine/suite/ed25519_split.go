package suite

import (
	"filippo.io/edwards25519"
)

// The verification of a key without a table (ed25519Verifier.verifySplit):
// instead of R' = [S]B − [k]A and comparing its encoding with R, which
// takes a 253-bit double-scalar multiplication, it decodes R and checks
//
//	[c1·S mod L]B − [c0]A − [c1]R = [c1]([S]B − [k]A − R) = 0
//
// with c0 ≡ c1·k (mod 8L) of about 128 bits each (splitScalar), so the
// doublings are halved. The equality holds for every point A, R of the
// curve (its group has order 8L), and with c1 odd, 0 < |c1| < L, [c1]D = 0
// only for D = 0: the check accepts exactly when [S]B − [k]A = R. R must
// also be the canonical encoding of that point, as crypto/ed25519 compares
// encodings.

// splitWindow is the NAF width for A and R (odd multiples up to 15);
// splitBaseWindow the one for B and 2^128·B (up to 63, affine).
const (
	splitWindow     = 5
	splitBaseWindow = 7
)

// base128 is the encoding of 2^128·B.
const base128 = "\x6b\xa6\xf5\x4b\x11\xbd\xba\x5b\x9e\xc4\xa4\x51\x1e\xbe\xd0\x90" +
	"\x3a\x9c\xc2\x26\xb6\x1e\xf1\x95\x7d\xc8\x6d\x52\xe6\x99\x2c\x5f"

// splitBase holds the odd multiples of B and 2^128·B, affine.
type splitBase struct {
	b, b128 [1 << (splitBaseWindow - 2)]nielsPoint
}

func (c *curve) newSplitBase() *splitBase {
	hi, err := new(edwards25519.Point).SetBytes([]byte(base128))
	if err != nil {
		panic("suite: bad 2^128·B constant") // a broken constant, not input
	}
	var pb, ph edPoint
	pb.fromPoint(edwards25519.NewGeneratorPoint())
	ph.fromPoint(hi)
	sb := &splitBase{}
	var ext [2 << (splitBaseWindow - 2)]edPoint
	n := len(sb.b)
	c.oddMultiples(ext[:n], &pb)
	c.oddMultiples(ext[n:], &ph)
	var niels [len(ext)]nielsPoint
	c.toNiels(niels[:], ext[:])
	copy(sb.b[:], niels[:n])
	copy(sb.b128[:], niels[n:])
	return sb
}

// oddMultiples sets out[i] = (2i+1)·p.
func (c *curve) oddMultiples(out []edPoint, p *edPoint) {
	var r completedPoint
	var p2 edPoint
	var p2c cachedPoint
	dbl(&r, p)
	r.toExt(&p2)
	c.toCached(&p2c, &p2)
	out[0] = *p
	for i := 1; i < len(out); i++ {
		addCached(&r, &out[i-1], &p2c, false)
		r.toExt(&out[i])
	}
}

// cachedOddMultiples sets out[i] = (2i+1)·p in cached form.
func (c *curve) cachedOddMultiples(out *[1 << (splitWindow - 2)]cachedPoint, p *edPoint) {
	var ext [len(out)]edPoint
	c.oddMultiples(ext[:], p)
	for i := range ext {
		c.toCached(&out[i], &ext[i])
	}
}

func absDigit(d int8) int {
	if d < 0 {
		return int(-d)
	}
	return int(d)
}

// verifySplit verifies sig over msg by pub (lengths already checked) with
// half-size scalars. ok is false when splitScalar found no short pair and
// the caller must verify another way.
func (v *ed25519Verifier) verifySplit(pub, msg, sig []byte) (valid, ok bool) {
	S, err := new(edwards25519.Scalar).SetCanonicalBytes(sig[32:])
	if err != nil {
		return false, true
	}
	// encode([S]B − [k]A) is canonical: a non-canonical R never matches.
	if !canonicalPoint(sig[:32]) {
		return false, true
	}
	R, err := new(edwards25519.Point).SetBytes(sig[:32])
	if err != nil {
		return false, true
	}
	A, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return false, true
	}
	k := hashScalar(sig[:32], pub, [][]byte{msg})
	kb := [32]byte(k.Bytes())
	c0, c1, c1neg, ok := splitScalar(&kb)
	if !ok {
		return false, false
	}
	c1b := c1.bytes()
	c1s, err := new(edwards25519.Scalar).SetCanonicalBytes(c1b[:])
	if err != nil {
		return false, false // unreachable: |c1| < 2^latticeMaxBits < L
	}
	sb := [32]byte(new(edwards25519.Scalar).Multiply(S, c1s).Bytes())
	sLo, sHi := u256FromBytes(&sb), u256{}
	sHi[0], sHi[1] = sLo[2], sLo[3]
	sLo[2], sLo[3] = 0, 0

	var nA, nR, nB, nH [257]int8
	top := max(wnaf(&nA, &c0, splitWindow), wnaf(&nR, &c1, splitWindow),
		wnaf(&nB, &sLo, splitBaseWindow), wnaf(&nH, &sHi, splitBaseWindow))

	var ap, rp edPoint
	var ta, tr [1 << (splitWindow - 2)]cachedPoint
	v.c.cachedOddMultiples(&ta, ap.fromPoint(A))
	v.c.cachedOddMultiples(&tr, rp.fromPoint(R))
	base := v.splitBase()

	// E = [sLo]B + [sHi]2^128·B − [±c0]A − [|c1|]R, where −[c0]A is
	// subtracted when c1 > 0 (c0 ≡ c1·k) and added when c1 < 0.
	subA := !c1neg
	var acc edPoint
	acc.identity()
	var r completedPoint
	for i := top; i >= 0; i-- {
		dbl(&r, &acc)
		if d := nA[i]; d != 0 {
			r.toExt(&acc)
			addCached(&r, &acc, &ta[absDigit(d)>>1], (d < 0) != subA)
		}
		if d := nR[i]; d != 0 {
			r.toExt(&acc)
			addCached(&r, &acc, &tr[absDigit(d)>>1], d > 0)
		}
		if d := nB[i]; d != 0 {
			r.toExt(&acc)
			addNielsC(&r, &acc, &base.b[absDigit(d)>>1], d < 0)
		}
		if d := nH[i]; d != 0 {
			r.toExt(&acc)
			addNielsC(&r, &acc, &base.b128[absDigit(d)>>1], d < 0)
		}
		r.toProj(&acc)
	}
	return acc.isIdentity(), true
}
