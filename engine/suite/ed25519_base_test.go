package suite

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"filippo.io/edwards25519"
)

// TestBaseCombMatchesEdwards25519 checks the constant-time fixed-base
// multiplication against edwards25519's for random and edge scalars.
func TestBaseCombMatchesEdwards25519(t *testing.T) {
	c := newCurve()
	bc := c.newBaseComb()
	var scalars [][32]byte
	lMinus1 := [32]byte(edwards25519.NewScalar().Subtract(edwards25519.NewScalar(), mustScalar(t, 1)).Bytes())
	scalars = append(scalars, [32]byte{}, [32]byte{1}, [32]byte{8}, [32]byte{0x88, 0x88}, lMinus1)
	for i := 0; i < 300; i++ {
		scalars = append(scalars, [32]byte(randomScalar(t).Bytes()))
	}
	// Every digit pattern of a byte at every position: 0x88 makes digits
	// of -8 after the carries, 0x77 of 7.
	for pos := 0; pos < 31; pos++ {
		for _, b := range []byte{0x08, 0x80, 0x88, 0x77, 0xff, 0xf8} {
			var s [32]byte
			s[pos] = b
			scalars = append(scalars, s)
		}
	}
	for _, s := range scalars {
		sc, err := edwards25519.NewScalar().SetCanonicalBytes(s[:])
		if err != nil {
			t.Fatalf("scalar %x: %v", s, err)
		}
		want := new(edwards25519.Point).ScalarBaseMult(sc).Bytes()
		var p edPoint
		bc.mul(&p, &s)
		var got [32]byte
		p.encode(&got)
		if !bytes.Equal(got[:], want) {
			t.Fatalf("[%x]B = %x, want %x", s, got, want)
		}
	}
}

func mustScalar(t *testing.T, v byte) *edwards25519.Scalar {
	t.Helper()
	s, err := edwards25519.NewScalar().SetCanonicalBytes(append([]byte{v}, make([]byte, 31)...))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSignedRadix16 checks the recoding against the scalar's value.
func TestSignedRadix16(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < 1000; i++ {
		var s [32]byte
		for j := range s {
			s[j] = byte(rng.Uint32())
		}
		s[31] &= 0x7f
		e := signedRadix16(&s)
		// Rebuild s from the digits, most significant first.
		var acc [33]int
		for k := 63; k >= 0; k-- {
			if e[k] < -8 || e[k] > 8 {
				t.Fatalf("digit %d of %x: %d", k, s, e[k])
			}
			acc[k/2] += int(e[k]) << (4 * (k % 2))
		}
		var got [32]byte
		carry := 0
		for k := 0; k < 32; k++ {
			v := acc[k] + carry
			got[k] = byte(v)
			carry = v >> 8
		}
		if got != s || carry != 0 {
			t.Fatalf("digits of %x rebuild %x (carry %d)", s, got, carry)
		}
	}
}

func BenchmarkBaseMult(b *testing.B) {
	c := newCurve()
	bc := c.newBaseComb()
	s := [32]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 7}
	sc, _ := edwards25519.NewScalar().SetCanonicalBytes(s[:])
	b.Run("edwards25519", func(b *testing.B) {
		var p edwards25519.Point
		for i := 0; i < b.N; i++ {
			p.ScalarBaseMult(sc)
		}
	})
	b.Run("comb", func(b *testing.B) {
		var p edPoint
		for i := 0; i < b.N; i++ {
			bc.mul(&p, &s)
		}
	})
}
