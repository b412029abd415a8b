package suite

import (
	"bytes"
	"math/big"
	"math/rand/v2"
	"testing"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// fieldFromBig returns x mod p as a field element.
func fieldFromBig(t testing.TB, x *big.Int) *field.Element {
	t.Helper()
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	var b [32]byte
	new(big.Int).Mod(x, p).FillBytes(b[:])
	for i := 0; i < 16; i++ {
		b[i], b[31-i] = b[31-i], b[i]
	}
	e, err := new(field.Element).SetBytes(b[:])
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// checkInverse compares invertVartime with field.Element.Invert.
func checkInverse(t testing.TB, z *field.Element) {
	t.Helper()
	var got, want field.Element
	invertVartime(&got, z)
	want.Invert(z)
	if got.Equal(&want) != 1 {
		t.Fatalf("invertVartime(%x) = %x, want %x", z.Bytes(), got.Bytes(), want.Bytes())
	}
}

func TestInvertVartime(t *testing.T) {
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	one := big.NewInt(1)
	edges := []*big.Int{
		big.NewInt(0), big.NewInt(1), big.NewInt(2), big.NewInt(19), big.NewInt(121666),
		new(big.Int).Sub(p, one), new(big.Int).Sub(p, big.NewInt(2)),
		new(big.Int).Lsh(one, 254), new(big.Int).Lsh(one, 62), new(big.Int).Lsh(one, 124),
		new(big.Int).Sub(new(big.Int).Lsh(one, 254), one), new(big.Int).Sub(new(big.Int).Lsh(one, 62), one),
		new(big.Int).Rsh(p, 1), new(big.Int).Add(new(big.Int).Rsh(p, 1), one),
	}
	for _, x := range edges {
		checkInverse(t, fieldFromBig(t, x))
	}
	// Powers of two and their neighbours: long runs of halving steps.
	for k := 0; k < 255; k++ {
		x := new(big.Int).Lsh(one, uint(k))
		checkInverse(t, fieldFromBig(t, x))
		checkInverse(t, fieldFromBig(t, x.Sub(p, x)))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		var b [32]byte
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		z, err := new(field.Element).SetBytes(b[:])
		if err != nil {
			t.Fatal(err)
		}
		checkInverse(t, z)
		// The product is one.
		var inv, prod field.Element
		invertVartime(&inv, z)
		prod.Multiply(&inv, z)
		if z.Equal(new(field.Element)) == 0 && prod.Equal(new(field.Element).One()) != 1 {
			t.Fatalf("z·invertVartime(z) = %x for z = %x", prod.Bytes(), z.Bytes())
		}
	}
}

func TestInvertVartimeAliasing(t *testing.T) {
	z := fieldFromBig(t, big.NewInt(12345))
	var want field.Element
	want.Invert(z)
	invertVartime(z, z)
	if !bytes.Equal(z.Bytes(), want.Bytes()) {
		t.Fatalf("in place: got %x, want %x", z.Bytes(), want.Bytes())
	}
}

func FuzzInvertVartime(f *testing.F) {
	f.Add(make([]byte, 32))
	f.Add(bytes.Repeat([]byte{0xff}, 32))
	f.Add(append([]byte{0xec}, bytes.Repeat([]byte{0xff}, 31)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) != 32 {
			return
		}
		z, err := new(field.Element).SetBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		checkInverse(t, z)
	})
}

// TestEncodeBlinded checks that the signer's blinded encoding of secret
// points equals edwards25519's for any blinding factor, zero (and p, which
// is zero too) included.
func TestEncodeBlinded(t *testing.T) {
	bc := newCurve().newBaseComb()
	rng := rand.New(rand.NewPCG(5, 6))
	p := [32]byte{0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}
	for i := 0; i < 500; i++ {
		s := randomScalar(t)
		want := new(edwards25519.Point).ScalarBaseMult(s).Bytes()
		var P edPoint
		bc.mul(&P, (*[32]byte)(s.Bytes()))
		var random fe
		for j := range random {
			random[j] = byte(rng.Uint32())
		}
		var one fe
		one[0] = 1
		var got [32]byte
		for _, rho := range []fe{{}, fe(p), one, random} {
			encodeBlinded(&got, &P, &rho)
			if !bytes.Equal(got[:], want) {
				t.Fatalf("case %d, ρ = %x: %x, want %x", i, rho, got, want)
			}
		}
		encodeSecretPoint(&got, &P)
		if !bytes.Equal(got[:], want) {
			t.Fatalf("case %d, random ρ: %x, want %x", i, got, want)
		}
	}
}
