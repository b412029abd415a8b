package suite

import (
	"crypto/ed25519"
	"crypto/rand"
	"math/big"
	"testing"
)

func u256Big(x *u256) *big.Int {
	b := x.bytes()
	return new(big.Int).SetBytes(reverse(b[:]))
}

// TestSplitScalar checks c0 ≡ c1·k (mod 8L), c1 odd, and the sizes, for
// random and edge-case k, and that a fallback is rare.
func TestSplitScalar(t *testing.T) {
	n8 := new(big.Int).Lsh(orderL(), 3)
	if got := u256Big(&[]u256{orderTimes8()}[0]); got.Cmp(n8) != 0 {
		t.Fatalf("orderTimes8 = %v, want %v", got, n8)
	}
	l := orderL()
	edge := []*big.Int{big.NewInt(0), big.NewInt(1), big.NewInt(2), big.NewInt(8),
		new(big.Int).Sub(l, big.NewInt(1)), new(big.Int).Lsh(big.NewInt(1), 128),
		new(big.Int).Lsh(big.NewInt(1), 127), new(big.Int).Rsh(l, 1)}
	fallbacks, maxBits := 0, 0
	const n = 20000
	for i := range n {
		var k [32]byte
		if i < len(edge) {
			copy(k[:], leBytes(edge[i]))
		} else {
			copy(k[:], randomScalar(t).Bytes())
		}
		c0, c1, neg, ok := splitScalar(&k)
		if !ok {
			fallbacks++
			continue
		}
		kb := new(big.Int).SetBytes(reverse(k[:]))
		b0, b1 := u256Big(&c0), u256Big(&c1)
		if neg {
			b1.Neg(b1)
		}
		diff := new(big.Int).Sub(b0, new(big.Int).Mul(b1, kb))
		if diff.Mod(diff, n8).Sign() != 0 {
			t.Fatalf("k=%v: c0=%v c1=%v: c0 ≢ c1·k (mod 8L)", kb, b0, b1)
		}
		if b1.Bit(0) != 1 {
			t.Fatalf("k=%v: c1=%v even", kb, b1)
		}
		maxBits = max(maxBits, c0.bitLen(), c1.bitLen())
	}
	if maxBits > latticeMaxBits {
		t.Errorf("halves of %d bits, limit %d", maxBits, latticeMaxBits)
	}
	if fallbacks > n/100 {
		t.Errorf("%d of %d scalars fell back", fallbacks, n)
	}
	t.Logf("%d fallbacks of %d, longest half %d bits", fallbacks, n, maxBits)
}

// TestDivStep checks one Euclid division against math/big, including
// divisors whose top 64 bits are all ones.
func TestDivStep(t *testing.T) {
	ones := ^uint64(0)
	for i, tc := range []struct{ r0, r1 u256 }{
		{u256{5, 0, 0, ones}, u256{0, 0, 0, ones}},
		{u256{0, 0, ones, ones >> 1}, u256{7, 0, ones, ones >> 1}},
		{u256{0, 0, ones, ones >> 1}, u256{1, 2, 3}},
		{orderTimes8(), u256{12345, 678, 9}},
	} {
		if tc.r0.cmp(&tc.r1) < 0 {
			tc.r0, tc.r1 = tc.r1, tc.r0
		}
		r0, t0, t1 := tc.r0, u256{}, u256{1}
		divStep(&r0, &t0, &tc.r1, &t1)
		q, m := new(big.Int).QuoRem(u256Big(&tc.r0), u256Big(&tc.r1), new(big.Int))
		if got := u256Big(&r0); got.Cmp(m) != 0 {
			t.Errorf("case %d: remainder %v, want %v", i, got, m)
		}
		negT := t0.neg()
		if got := u256Big(&negT); got.Cmp(q) != 0 {
			t.Errorf("case %d: t0 = −%v, want −%v", i, got, q)
		}
	}
}

func TestWNAF(t *testing.T) {
	for _, w := range []int{2, 5, 6, 8} {
		for i := range 500 {
			var x u256
			switch i {
			case 0:
			case 1:
				x = u256{^uint64(0), ^uint64(0), ^uint64(0), 1<<63 - 1}
			case 2, 3, 4, 5, 6, 7, 8, 9:
				x = u256{1<<(5*i) - 1, 0, 1 << (i * 7)} // runs of ones, carries
			case 10:
				x = u256{31}
			default:
				b := [32]byte(randomScalar(t).Bytes())
				x = u256FromBytes(&b)
			}
			var naf [257]int8
			top := wnaf(&naf, &x, w)
			got := new(big.Int)
			last := -w
			for j := 256; j >= 0; j-- {
				got.Lsh(got, 1)
				d := naf[j]
				if d == 0 {
					continue
				}
				got.Add(got, big.NewInt(int64(d)))
				if d%2 == 0 || absDigit(d) >= 1<<(w-1) {
					t.Fatalf("w=%d: digit %d", w, d)
				}
				if j > top {
					t.Fatalf("w=%d: digit at %d above top %d", w, j, top)
				}
				if last >= 0 && last-j < w {
					t.Fatalf("w=%d: digits at %d and %d", w, j, last)
				}
				last = j
			}
			if want := u256Big(&x); got.Cmp(want) != 0 {
				t.Fatalf("w=%d: NAF of %v is %v", w, want, got)
			}
		}
	}
}

// TestVerifySplitUsed checks that valid signatures of fresh keys are
// decided by verifySplit, not by the crypto/ed25519 fallback.
func TestVerifySplitUsed(t *testing.T) {
	v := newEd25519Verifier()
	for i := range 200 {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		msg := []byte{byte(i)}
		valid, ok := v.verifySplit(pub, msg, ed25519.Sign(priv, msg))
		if !ok || !valid {
			t.Fatalf("case %d: verifySplit = %v, %v; want true, true", i, valid, ok)
		}
	}
}
