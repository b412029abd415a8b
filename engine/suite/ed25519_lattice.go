package suite

import (
	"encoding/binary"
	"math/bits"
)

// This file finds, for a scalar k, two integers of about 128 bits
// c0 ≥ 0 and c1 odd with c0 ≡ c1·k (mod 8L) (Euclid's algorithm stopped
// half way, as in T. Pornin, "Optimized lattice basis reduction in
// dimension 2, and fast Schnorr and EdDSA signature verification", 2020).
// Working modulo 8L, the order of the whole curve group, makes
// [c1·k]P = [c0]P hold for every point P, including points with a
// small-order component; c1 odd makes [c1]D = 0 equivalent to D = 0.

// u256 is an unsigned or two's-complement integer, little-endian limbs.
type u256 [4]uint64

// orderTimes8 returns 8·L, L = 2^252 + 27742317777372353535851937790883648493.
func orderTimes8() u256 {
	return u256{0xc09318d2e7ae9f68, 0xa6f7cef517bce6b2, 0, 0x8000000000000000}
}

func (x *u256) bitLen() int {
	for i := 3; i >= 0; i-- {
		if x[i] != 0 {
			return 64*i + bits.Len64(x[i])
		}
	}
	return 0
}

// cmp compares unsigned x and y.
func (x *u256) cmp(y *u256) int {
	for i := 3; i >= 0; i-- {
		if x[i] != y[i] {
			if x[i] < y[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// shl returns x·2^s mod 2^256 (0 ≤ s < 256).
func (x *u256) shl(s int) u256 {
	var z u256
	w, b := s/64, uint(s%64)
	for i := 3; i >= w; i-- {
		z[i] = x[i-w] << b
		if b != 0 && i-w-1 >= 0 {
			z[i] |= x[i-w-1] >> (64 - b)
		}
	}
	return z
}

// sub sets x = x − y mod 2^256.
func (x *u256) sub(y *u256) {
	var borrow uint64
	for i := range x {
		x[i], borrow = bits.Sub64(x[i], y[i], borrow)
	}
}

func (x *u256) negative() bool { return x[3]>>63 == 1 }

// neg returns −x mod 2^256.
func (x *u256) neg() u256 {
	var z u256
	z.sub(x)
	return z
}

func (x *u256) bytes() [32]byte {
	var b [32]byte
	for i, l := range x {
		binary.LittleEndian.PutUint64(b[8*i:], l)
	}
	return b
}

func u256FromBytes(b *[32]byte) u256 {
	var x u256
	for i := range x {
		x[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return x
}

// latticeMaxBits bounds the halves a verification accepts from
// splitScalar; larger ones (rare) fall back to a full verification.
const latticeMaxBits = 136

// top64 returns bits [n−64, n) of x, for n ≥ 64.
func (x *u256) top64(n int) uint64 {
	lo := n - 64
	i, b := lo/64, uint(lo%64)
	v := x[i] >> b
	if b != 0 && i+1 < 4 {
		v |= x[i+1] << (64 - b)
	}
	return v
}

// mulSub sets x = x − q·y mod 2^256.
func (x *u256) mulSub(y *u256, q uint64) {
	var carry, borrow uint64
	for i := range x {
		hi, lo := bits.Mul64(y[i], q)
		lo, c := bits.Add64(lo, carry, 0)
		carry = hi + c
		x[i], borrow = bits.Sub64(x[i], lo, borrow)
	}
}

// divStep replaces (r0, t0) by (r0 mod r1, t0 − ⌊r0/r1⌋·t1), for r1 > 0.
func divStep(r0, t0, r1, t1 *u256) {
	for r0.cmp(r1) >= 0 {
		n0, n1 := r0.bitLen(), r1.bitLen()
		if n0 >= 64 && n0-n1 < 62 {
			// q = ⌊top(r0)/(top(r1)+1)⌋ ≤ ⌊r0/r1⌋, and close to it.
			q := uint64(1)
			if d := r1.top64(n0); d != ^uint64(0) {
				q = max(r0.top64(n0)/(d+1), 1)
			}
			r0.mulSub(r1, q)
			t0.mulSub(t1, q)
			continue
		}
		s := n0 - n1
		sh := r1.shl(s)
		if s > 0 && sh.cmp(r0) > 0 {
			s--
			sh = r1.shl(s)
		}
		r0.sub(&sh)
		tsh := t1.shl(s)
		t0.sub(&tsh)
	}
}

// splitScalar returns c0 ≥ 0 and |c1| with c0 ≡ c1·k (mod 8L), c1 odd, and
// whether c1 is negative, for k < L. ok is false when no such pair with
// both below 2^latticeMaxBits came out.
func splitScalar(k *[32]byte) (c0, c1abs u256, c1neg, ok bool) {
	// Invariant: r_i ≡ t_i·k (mod 8L), r0 > r1 after each division.
	r0, t0 := orderTimes8(), u256{}
	r1, t1 := u256FromBytes(k), u256{1}
	for r1.bitLen() > 128 {
		divStep(&r0, &t0, &r1, &t1)
		r0, r1 = r1, r0
		t0, t1 = t1, t0
	}
	// (r1, t1) is short; if t1 is even, t0 is odd (consecutive cofactors
	// of Euclid's algorithm are coprime) and (r0, t0) may be short too;
	// else one more division gives (r2, t2).
	best := 1 << 30
	consider := func(r, t u256) {
		if t[0]&1 == 0 {
			return
		}
		neg := t.negative()
		abs := t
		if neg {
			abs = t.neg()
		}
		n := max(r.bitLen(), abs.bitLen())
		if n < best {
			best, c0, c1abs, c1neg = n, r, abs, neg
		}
	}
	consider(r1, t1)
	consider(r0, t0)
	if t1[0]&1 == 0 && r1.bitLen() > 0 {
		r2, t2 := r0, t0
		divStep(&r2, &t2, &r1, &t1)
		consider(r2, t2)
	}
	return c0, c1abs, c1neg, best <= latticeMaxBits
}

// wnaf writes the width-w non-adjacent form of x (below 2^255) to naf:
// x = Σ naf[i]·2^i with every nonzero digit odd, |digit| < 2^(w−1), and
// at least w−1 zeros after each nonzero digit. It returns the index of the
// top nonzero digit, or −1 for x = 0.
func wnaf(naf *[257]int8, x *u256, w int) int {
	*naf = [257]int8{}
	var limbs [5]uint64
	copy(limbs[:], x[:])
	width := uint64(1) << w
	mask := width - 1
	top := -1
	carry := uint64(0)
	pos := 0
	for end := x.bitLen(); pos < end; {
		i, b := pos/64, uint(pos%64)
		buf := limbs[i] >> b
		if b != 0 {
			buf |= limbs[i+1] << (64 - b)
		}
		if carry == 0 && buf&1 == 0 {
			if buf == 0 {
				pos += 64 - int(b) // the rest of this limb is zero
			} else {
				pos += bits.TrailingZeros64(buf)
			}
			continue
		}
		win := carry + buf&mask
		if win&1 == 0 {
			pos++
			continue
		}
		if win < width/2 {
			naf[pos] = int8(win)
			carry = 0
		} else {
			naf[pos] = int8(int64(win) - int64(width))
			carry = 1
		}
		top = pos
		pos += w
	}
	if carry != 0 {
		// The last digit was negative at pos−w, whose window held the top
		// bit of x: pos ≤ bitLen(x) ≤ 255.
		naf[pos] = 1
		top = pos
	}
	return top
}
