package suite

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"golang.org/x/crypto/curve25519"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func randomBytes32(t testing.TB) *[x25519Size]byte {
	t.Helper()
	var b [x25519Size]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return &b
}

// TestX25519BaseMatchesLadder checks the fixed-base path against
// golang.org/x/crypto/curve25519 and against the DH ladder from u = 9, on
// random scalars and on scalars whose clamping matters.
func TestX25519BaseMatchesLadder(t *testing.T) {
	scalars := []*[x25519Size]byte{
		{},
		{0: 0xff, 31: 0xff},
		{0: 1},
		{31: 0x80},
	}
	all := new([x25519Size]byte)
	for i := range all {
		all[i] = 0xff
	}
	scalars = append(scalars, all)
	for range 1000 {
		scalars = append(scalars, randomBytes32(t))
	}
	base := [x25519Size]byte{9}
	for _, sk := range scalars {
		var got, ladder [x25519Size]byte
		x25519Base(&got, sk)
		want, err := curve25519.X25519(sk[:], curve25519.Basepoint)
		if err != nil {
			t.Fatalf("curve25519.X25519(%x, 9): %v", sk, err)
		}
		if !bytes.Equal(got[:], want) {
			t.Fatalf("x25519Base(%x) = %x, want %x", sk, got, want)
		}
		if !x25519DH(&ladder, sk, &base) || ladder != got {
			t.Fatalf("x25519DH(%x, 9) = %x, want %x", sk, ladder, got)
		}
	}
}

// TestX25519DHMatchesStd checks the ladder against
// golang.org/x/crypto/curve25519 on random scalars and random
// u-coordinates, including ones with the top bit set and non-canonical
// ones (at least p), which RFC 7748 requires to be accepted.
func TestX25519DHMatchesStd(t *testing.T) {
	points := []*[x25519Size]byte{}
	for range 500 {
		points = append(points, randomBytes32(t))
	}
	// 2^255 - 19 + 9 and 2^255 - 1: non-canonical encodings.
	nonCanon := [x25519Size]byte{0: 0xf6, 31: 0x7f}
	for i := 1; i < 31; i++ {
		nonCanon[i] = 0xff
	}
	points = append(points, &nonCanon)
	top := nonCanon
	top[0] = 0xff
	points = append(points, &top)
	for _, pt := range points {
		sk := randomBytes32(t)
		var got [x25519Size]byte
		ok := x25519DH(&got, sk, pt)
		want, err := curve25519.X25519(sk[:], pt[:])
		if ok != (err == nil) {
			t.Fatalf("x25519DH(%x, %x) ok = %v, curve25519 error %v", sk, pt, ok, err)
		}
		if ok && !bytes.Equal(got[:], want) {
			t.Fatalf("x25519DH(%x, %x) = %x, want %x", sk, pt, got, want)
		}
	}
}

// TestX25519RFC7748Vectors runs the test vectors of RFC 7748 §5.2 (the
// single and the 1000-times iterated ones) and the DH example of §6.1.
func TestX25519RFC7748Vectors(t *testing.T) {
	tests := []struct{ name, scalar, u, want string }{
		{"5.2/1", "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
			"e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
			"c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
		{"5.2/2", "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
			"e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
			"95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
		{"6.1/alice-public", "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
			"0900000000000000000000000000000000000000000000000000000000000000",
			"8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"},
		{"6.1/bob-public", "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
			"0900000000000000000000000000000000000000000000000000000000000000",
			"de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"},
		{"6.1/shared", "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
			"de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
			"4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got [x25519Size]byte
			if !x25519DH(&got, (*[x25519Size]byte)(mustHex(t, tt.scalar)), (*[x25519Size]byte)(mustHex(t, tt.u))) {
				t.Fatal("x25519DH reported an all-zero result")
			}
			if want := mustHex(t, tt.want); !bytes.Equal(got[:], want) {
				t.Errorf("X25519 = %x, want %x", got, want)
			}
		})
	}
	t.Run("5.2/iterated", func(t *testing.T) {
		iterations := map[int]string{
			1:    "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079",
			1000: "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51",
		}
		k := [x25519Size]byte{9}
		u := k
		for i := 1; i <= 1000; i++ {
			var r [x25519Size]byte
			x25519DH(&r, &k, &u)
			u, k = k, r
			if want, ok := iterations[i]; ok && hex.EncodeToString(k[:]) != want {
				t.Errorf("after %d iterations k = %x, want %s", i, k, want)
			}
		}
	})
}

// smallOrderPoints are u-coordinates of points of order 1, 2, 4 and 8 on
// Curve25519 (0, 1, the two of order 8, p - 1) with their non-canonical
// encodings (p, p + 1, and each with the ignored top bit set);
// curve25519.X25519 confirms each in the tests.
var smallOrderPoints = []string{
	"0000000000000000000000000000000000000000000000000000000000000000",
	"0100000000000000000000000000000000000000000000000000000000000000",
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	// The same with the ignored top bit set, and p + 0, p + 1.
	"0000000000000000000000000000000000000000000000000000000000000080",
	"0100000000000000000000000000000000000000000000000000000000000080",
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
}

// TestX25519SmallOrder checks that a DH with a point of small order is
// reported as the all-zero result (RFC 7748 §6.1).
func TestX25519SmallOrder(t *testing.T) {
	for _, h := range smallOrderPoints {
		pt := (*[x25519Size]byte)(mustHex(t, h))
		for range 4 {
			sk := randomBytes32(t)
			if _, err := curve25519.X25519(sk[:], pt[:]); err == nil {
				t.Fatalf("%s: curve25519.X25519 accepted it: not a small-order point", h)
			}
			var out [x25519Size]byte
			if x25519DH(&out, sk, pt) {
				t.Errorf("x25519DH(%x, %s) = %x, want the all-zero rejection", sk, h, out)
			}
		}
	}
}
