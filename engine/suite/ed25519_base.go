package suite

import (
	"encoding/binary"
	"sync"

	"filippo.io/edwards25519"
	"github.com/cloudflare/circl/math/fp25519"
)

// baseComb holds, for the Ed25519 base point B, the multiples
// j·256^k·B for j = 1 … 8 and k = 0 … 31 in affine (niels) form: the table
// of a constant-time fixed-base multiplication with signed 4-bit digits
// (RFC 8032's "ref10" layout), on circl's field elements. It is public
// data, built once per Suite with the variable-time arithmetic; only the
// multiplication that reads it sees a secret.
type baseComb struct {
	t [32][8]nielsPoint
}

// newBaseCombOnce returns a function that builds the table on its first
// call and returns the same table from then on: a Suite's KEM and signer
// share it.
func newBaseCombOnce() func() *baseComb {
	return sync.OnceValue(func() *baseComb { return newCurve().newBaseComb() })
}

// newBaseComb builds the table.
func (c *curve) newBaseComb() *baseComb {
	ext := make([]edPoint, 32*8)
	var base edPoint // 256^k·B
	base.fromPoint(edwards25519.NewGeneratorPoint())
	var r completedPoint
	var bc cachedPoint
	for k := 0; k < 32; k++ {
		row := ext[k*8 : (k+1)*8]
		row[0] = base
		c.toCached(&bc, &base)
		for j := 1; j < 8; j++ {
			addCached(&r, &row[j-1], &bc, false)
			r.toExt(&row[j])
		}
		// 256·base = 2^5·(8·base)
		b := row[7]
		for range 5 {
			dbl(&r, &b)
			r.toExt(&b)
		}
		base = b
	}
	out := &baseComb{}
	flat := make([]nielsPoint, len(ext))
	c.toNiels(flat, ext)
	for k := range out.t {
		copy(out.t[k][:], flat[k*8:(k+1)*8])
	}
	return out
}

// signedRadix16 returns the digits e[i] in [−8, 8] of the little-endian
// scalar s < 2^255 with s = Σ e[i]·16^i, in constant time.
func signedRadix16(s *[32]byte) [64]int8 {
	var e [64]int8
	for i, b := range s {
		e[2*i] = int8(b & 15)
		e[2*i+1] = int8(b >> 4)
	}
	var carry int8
	for i := 0; i < 63; i++ {
		e[i] += carry
		carry = (e[i] + 8) >> 4
		e[i] -= carry << 4
	}
	e[63] += carry
	return e
}

// ctEqual returns 1 if a = b and 0 otherwise, for a, b < 2^31, in
// constant time.
func ctEqual(a, b uint32) uint {
	x := uint64(a ^ b)
	return uint((x - 1) >> 63)
}

// selectInto sets q to d·256^k·B (the identity for d = 0) for the digit d
// in [−8, 8], reading every entry of the row, in constant time: each
// entry's words are ANDed with a mask that is all ones only for the
// wanted entry, then y+x and y−x swap and 2dxy is negated under the mask
// of d's sign.
func (bc *baseComb) selectInto(q *nielsPoint, k int, d int8) {
	neg := uint64(uint8(d) >> 7)
	abs := uint32(d - int8(-int8(neg)&d)<<1)
	var masks [8]uint64
	for j := range masks {
		masks[j] = -uint64(ctEqual(abs, uint32(j+1)))
	}
	// The identity (d = 0): y+x = y−x = 1, 2dxy = 0.
	one := uint64(ctEqual(abs, 0))
	row := &bc.t[k]
	var ypx, ymx, t2d [8]*fe
	for j := range row {
		ypx[j], ymx[j], t2d[j] = &row[j].ypx, &row[j].ymx, &row[j].t2d
	}
	maskedSum(&q.ypx, &masks, one, &ypx)
	maskedSum(&q.ymx, &masks, one, &ymx)
	maskedSum(&q.t2d, &masks, 0, &t2d)
	// A negative digit swaps y+x and y−x and negates 2dxy.
	fp25519.Cswap(&q.ypx, &q.ymx, uint(neg))
	var nt fe
	fp25519.Neg(&nt, &q.t2d)
	fp25519.Cmov(&q.t2d, &nt, uint(neg))
}

// maskedSum sets dst to low (as an element) OR-ed with the elements
// elts[j] ANDed with masks[j]: with one all-ones mask and low 0, or all
// masks zero, a constant-time selection.
func maskedSum(dst *fe, masks *[8]uint64, low uint64, elts *[8]*fe) {
	le := binary.LittleEndian
	w0, w1, w2, w3 := low, uint64(0), uint64(0), uint64(0)
	for j, m := range masks {
		e := elts[j]
		w0 |= m & le.Uint64(e[0:8])
		w1 |= m & le.Uint64(e[8:16])
		w2 |= m & le.Uint64(e[16:24])
		w3 |= m & le.Uint64(e[24:32])
	}
	le.PutUint64(dst[0:8], w0)
	le.PutUint64(dst[8:16], w1)
	le.PutUint64(dst[16:24], w2)
	le.PutUint64(dst[24:32], w3)
}

// mul sets p = [s]B for the little-endian scalar s < 2^255 in constant
// time: 64 mixed additions of table entries and 4 doublings.
func (bc *baseComb) mul(p *edPoint, s *[32]byte) {
	e := signedRadix16(s)
	var q nielsPoint
	var r completedPoint
	p.identity()
	for i := 1; i < 64; i += 2 {
		bc.selectInto(&q, i/2, e[i])
		addNielsC(&r, p, &q, false)
		r.toExt(p)
	}
	for range 3 {
		dbl(&r, p)
		r.toProj(p)
	}
	dbl(&r, p)
	r.toExt(p)
	for i := 0; i < 64; i += 2 {
		bc.selectInto(&q, i/2, e[i])
		addNielsC(&r, p, &q, false)
		r.toExt(p)
	}
}
