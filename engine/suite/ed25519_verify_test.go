package suite

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"math/big"
	mrand "math/rand/v2"
	"testing"

	"filippo.io/edwards25519"
)

// verdicts runs every path of the verifier on (pub, msg, sig): the
// dispatch for unseen keys, the precomputed table of pub (when pub
// decodes), and the full verifier on a key's first and later sightings.
func verdicts(t testing.TB, v *ed25519Verifier, pub, msg, sig []byte) map[string]bool {
	t.Helper()
	got := map[string]bool{"once": len(pub) == 32 && len(sig) == 64 && v.verifyOnce(pub, msg, sig)}
	if len(pub) == 32 && len(sig) == 64 && sig[63]&224 == 0 {
		tab, ok := v.keyTable(pub)
		got["table"] = ok && v.verifyTable(tab, pub, msg, sig)
	} else {
		got["table"] = false
	}
	for i := range keyTableBuildAt + 1 {
		got["verify"+string(rune('0'+i))] = v.verify(pub, msg, sig)
	}
	v.builds.Wait() // the key's table, if it decodes
	got["verify-built"] = v.verify(pub, msg, sig)
	return got
}

// stdVerify is crypto/ed25519.Verify, which panics on a public key of the
// wrong length (the signer rejects those before).
func stdVerify(pub, msg, sig []byte) bool {
	return len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, msg, sig)
}

// checkAgree fails unless every path of v agrees with crypto/ed25519 and
// returns crypto/ed25519's verdict.
func checkAgree(t testing.TB, v *ed25519Verifier, name string, pub, msg, sig []byte) bool {
	t.Helper()
	want := stdVerify(pub, msg, sig)
	for path, got := range verdicts(t, v, pub, msg, sig) {
		if got != want {
			t.Errorf("%s: %s = %v, crypto/ed25519 = %v (pub %x sig %x msg %x)", name, path, got, want, pub, sig, msg)
		}
	}
	return want
}

func TestEd25519VerifyRFC8032(t *testing.T) {
	// RFC 8032 §7.1, TEST 1–3.
	for _, tc := range []struct{ seed, pub, msg, sig string }{
		{
			"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
			"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
			"",
			"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
		},
		{
			"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
			"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
			"72",
			"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
		},
		{
			"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
			"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
			"af82",
			"6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
		},
	} {
		seed, pub, msg, sig := hexBytes(t, tc.seed), hexBytes(t, tc.pub), hexBytes(t, tc.msg), hexBytes(t, tc.sig)
		if got := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey); !bytes.Equal(got, pub) {
			t.Fatalf("public key of seed %s = %x, want %s", tc.seed, got, tc.pub)
		}
		v := newEd25519Verifier()
		for path, got := range verdicts(t, v, pub, msg, sig) {
			if !got {
				t.Errorf("vector %s: %s rejected", tc.pub, path)
			}
		}
		bad := bytes.Clone(sig)
		bad[5] ^= 1
		for path, got := range verdicts(t, v, pub, msg, bad) {
			if got {
				t.Errorf("vector %s: %s accepted a corrupted signature", tc.pub, path)
			}
		}
	}
}

func hexBytes(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEd25519VerifyRandom compares the verifier with crypto/ed25519 on
// random valid signatures and on bit flips of their signatures, messages
// and keys.
func TestEd25519VerifyRandom(t *testing.T) {
	n := 1500
	if testing.Short() {
		n = 300
	}
	rng := mrand.New(mrand.NewPCG(1, 2))
	v := newEd25519Verifier()
	accepted := 0
	for i := range n {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		msg := make([]byte, rng.IntN(300))
		rand.Read(msg)
		sig := ed25519.Sign(priv, msg)
		if !checkAgree(t, v, "valid", pub, msg, sig) {
			t.Fatalf("case %d: crypto/ed25519 rejects its own signature", i)
		}
		accepted++
		flip := func(b []byte) []byte {
			c := bytes.Clone(b)
			if len(c) > 0 {
				j := rng.IntN(len(c) * 8)
				c[j/8] ^= 1 << (j % 8)
			}
			return c
		}
		if checkAgree(t, v, "sig flip", pub, msg, flip(sig)) {
			accepted++
		}
		if len(msg) > 0 && checkAgree(t, v, "msg flip", pub, flip(msg), sig) {
			accepted++
		}
		if i%4 == 0 && checkAgree(t, v, "key flip", flip(pub), msg, sig) {
			accepted++
		}
		if t.Failed() {
			return
		}
	}
	if accepted < n {
		t.Errorf("accepted %d of %d valid signatures", accepted, n)
	}
}

// orderL is the prime order L of the Ed25519 base point.
func orderL() *big.Int {
	l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	return l
}

// leBytes returns x as 32 little-endian bytes.
func leBytes(x *big.Int) []byte {
	be := x.FillBytes(make([]byte, 32))
	for i, j := 0, 31; i < j; i, j = i+1, j-1 {
		be[i], be[j] = be[j], be[i]
	}
	return be
}

func TestEd25519VerifyNonCanonicalS(t *testing.T) {
	v := newEd25519Verifier()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	l := orderL()
	for i := range 50 {
		msg := []byte{byte(i)}
		sig := ed25519.Sign(priv, msg)
		s := new(big.Int).SetBytes(reverse(sig[32:]))
		for name, bad := range map[string]*big.Int{
			"S+L":     new(big.Int).Add(s, l),
			"L":       new(big.Int).Set(l),
			"S+2L":    new(big.Int).Add(s, new(big.Int).Lsh(l, 1)),
			"2^253-1": new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 253), big.NewInt(1)),
			"L-1":     new(big.Int).Sub(l, big.NewInt(1)),
		} {
			if bad.BitLen() > 256 {
				continue
			}
			forged := append(bytes.Clone(sig[:32]), leBytes(bad)...)
			if checkAgree(t, v, name, pub, msg, forged) && name != "L-1" {
				t.Errorf("%s accepted", name)
			}
		}
	}
}

func reverse(b []byte) []byte {
	c := bytes.Clone(b)
	for i, j := 0, len(c)-1; i < j; i, j = i+1, j-1 {
		c[i], c[j] = c[j], c[i]
	}
	return c
}

// smallOrder returns the eight points of order dividing 8, as [i]T for a
// point T of order 8.
func smallOrder(t testing.TB) []*edwards25519.Point {
	t.Helper()
	minusOne := edwards25519.NewScalar().Subtract(edwards25519.NewScalar(), scalarOf(1))
	id := edwards25519.NewIdentityPoint()
	for range 100 {
		var b [32]byte
		rand.Read(b[:])
		q, err := new(edwards25519.Point).SetBytes(b[:])
		if err != nil {
			continue
		}
		// [L]Q = [L−1]Q + Q is Q's component of small order.
		tp := new(edwards25519.Point).ScalarMult(minusOne, q)
		tp.Add(tp, q)
		t4 := new(edwards25519.Point).ScalarMult(scalarOf(4), tp)
		if t4.Equal(id) == 1 {
			continue
		}
		pts := make([]*edwards25519.Point, 8)
		for i := range pts {
			pts[i] = new(edwards25519.Point).ScalarMult(scalarOf(uint64(i)), tp)
		}
		return pts
	}
	t.Fatal("no point of order 8 found")
	return nil
}

func scalarOf(x uint64) *edwards25519.Scalar {
	var b [32]byte
	for i := 0; i < 8; i++ {
		b[i] = byte(x >> (8 * i))
	}
	s, err := edwards25519.NewScalar().SetCanonicalBytes(b[:])
	if err != nil {
		panic(err)
	}
	return s
}

func randomScalar(t testing.TB) *edwards25519.Scalar {
	var b [64]byte
	rand.Read(b[:])
	s, err := edwards25519.NewScalar().SetUniformBytes(b[:])
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// forge returns a signature of msg that crypto/ed25519 accepts for pubEnc,
// an encoding of [a]B + T with T of small order: R = [r]B − [c]T for the
// c with [k]T = [c]T, S = r + k·a. If rEnc is set it is used as R's
// encoding instead (for non-canonical R), with r = 0.
func forge(t testing.TB, pubEnc []byte, a *edwards25519.Scalar, tp *edwards25519.Point, msg []byte, rEnc func(*edwards25519.Point) []byte) []byte {
	t.Helper()
	for i := range 200 {
		r := randomScalar(t)
		c := scalarOf(uint64(mrand.IntN(8)))
		if rEnc != nil {
			if i == 8 {
				return nil // R = −[c]T for each c: no k matched
			}
			r, c = edwards25519.NewScalar(), scalarOf(uint64(i))
		}
		cT := new(edwards25519.Point).ScalarMult(c, tp)
		R := new(edwards25519.Point).ScalarBaseMult(r)
		R.Subtract(R, cT)
		enc := R.Bytes()
		if rEnc != nil {
			enc = rEnc(R)
		}
		h := sha512.Sum512(append(append(bytes.Clone(enc), pubEnc...), msg...))
		k, err := edwards25519.NewScalar().SetUniformBytes(h[:])
		if err != nil {
			t.Fatal(err)
		}
		if new(edwards25519.Point).ScalarMult(k, tp).Equal(cT) != 1 {
			continue
		}
		s := edwards25519.NewScalar().MultiplyAdd(k, a, r)
		return append(enc, s.Bytes()...)
	}
	t.Fatal("forge: no matching k")
	return nil
}

// nonCanonical returns the encodings of p that edwards25519's SetBytes
// accepts besides the canonical one: y + p when y < 19, and the sign bit
// set when x = 0.
func nonCanonical(p *edwards25519.Point) [][]byte {
	enc := p.Bytes()
	var out [][]byte
	y := new(big.Int).SetBytes(reverse(append(enc[:31:31], enc[31]&0x7f)))
	if y.Cmp(big.NewInt(19)) < 0 {
		fp := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
		e := leBytes(new(big.Int).Add(y, fp))
		e[31] |= enc[31] & 0x80
		out = append(out, e)
		if y.Cmp(big.NewInt(1)) == 0 {
			out = append(out, append(e[:31:31], e[31]|0x80))
		}
	}
	neg := new(edwards25519.Point).Negate(p)
	if neg.Equal(p) == 1 { // x = 0
		out = append(out, append(enc[:31:31], enc[31]|0x80))
	}
	return out
}

// TestEd25519VerifySmallOrder compares the verifier with crypto/ed25519
// on small-order and mixed-order keys and R, with canonical and
// non-canonical encodings, on signatures crypto/ed25519 accepts and on
// random ones.
func TestEd25519VerifySmallOrder(t *testing.T) {
	v := newEd25519Verifier()
	small := smallOrder(t)
	accepted, acceptedNonCanonical := 0, 0
	for i, tp := range small {
		msg := []byte{byte(i), 'm'}
		for _, a := range []*edwards25519.Scalar{edwards25519.NewScalar(), randomScalar(t)} {
			A := new(edwards25519.Point).ScalarBaseMult(a)
			A.Add(A, tp)
			encs := append([][]byte{A.Bytes()}, nonCanonical(A)...)
			for j, pub := range encs {
				sig := forge(t, pub, a, tp, msg, nil)
				if checkAgree(t, v, "forged", pub, msg, sig) {
					accepted++
					if j > 0 {
						acceptedNonCanonical++
					}
				}
				// R as every small-order point and its other encodings.
				for _, R := range small {
					for _, renc := range append([][]byte{R.Bytes()}, nonCanonical(R)...) {
						s := leBytes(big.NewInt(int64(j)))
						checkAgree(t, v, "small R", pub, msg, append(bytes.Clone(renc), s...))
					}
				}
				// R non-canonical where forge would otherwise succeed.
				for _, pick := range []int{0, 1, 2} {
					sig := forge(t, pub, a, tp, msg, func(R *edwards25519.Point) []byte {
						nc := nonCanonical(R)
						if len(nc) == 0 {
							return R.Bytes()
						}
						return nc[pick%len(nc)]
					})
					if sig != nil {
						checkAgree(t, v, "non-canonical R", pub, msg, sig)
					}
				}
				bad := bytes.Clone(sig)
				bad[40] ^= 4
				checkAgree(t, v, "forged flip", pub, msg, bad)
			}
		}
	}
	if accepted < 16 || acceptedNonCanonical == 0 {
		t.Errorf("crypto/ed25519 accepted %d forged signatures, %d with non-canonical keys: the cases test too little", accepted, acceptedNonCanonical)
	}
	// Every y < 19 (canonical or + p), both signs, as A with random R, S.
	fp := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	for y := int64(0); y < 19; y++ {
		for _, yy := range []*big.Int{big.NewInt(y), new(big.Int).Add(big.NewInt(y), fp)} {
			for _, sign := range []byte{0, 0x80} {
				pub := leBytes(yy)
				pub[31] |= sign
				sig := make([]byte, 64)
				rand.Read(sig[:32])
				copy(sig[32:], randomScalar(t).Bytes())
				checkAgree(t, v, "small y", pub, []byte("m"), sig)
			}
		}
	}
}

func TestRecode(t *testing.T) {
	l := orderL()
	for _, w := range []int{4, 5, 6, 7} {
		for i := range 200 {
			var s [32]byte
			switch i {
			case 0:
			case 1:
				copy(s[:], leBytes(new(big.Int).Sub(l, big.NewInt(1))))
			default:
				copy(s[:], randomScalar(t).Bytes())
			}
			var buf [maxDigits]int8
			digits := recode(buf[:], &s, w)
			got := new(big.Int)
			for j := len(digits) - 1; j >= 0; j-- {
				d := int(digits[j])
				if d > 1<<(w-1) || d <= -(1<<(w-1)) {
					t.Fatalf("w=%d: digit %d out of range", w, d)
				}
				got.Lsh(got, uint(w))
				got.Add(got, big.NewInt(int64(d)))
			}
			if want := new(big.Int).SetBytes(reverse(s[:])); got.Cmp(want) != 0 {
				t.Fatalf("w=%d: recoded %v, want %v", w, got, want)
			}
		}
	}
}

// TestFixedTable checks [s]P from a table against edwards25519's
// ScalarMult, for the base point, random points and a mixed-order point.
func TestFixedTable(t *testing.T) {
	c := newCurve()
	small := smallOrder(t)
	points := []*edwards25519.Point{edwards25519.NewGeneratorPoint(), small[1], small[4]}
	for range 3 {
		points = append(points, new(edwards25519.Point).ScalarBaseMult(randomScalar(t)))
	}
	mixed := new(edwards25519.Point).ScalarBaseMult(randomScalar(t))
	points = append(points, mixed.Add(mixed, small[3]))
	for pi, p := range points {
		for _, w := range []int{4, 5, 6} {
			var ep edPoint
			tab := c.newFixedTable(ep.fromPoint(p), w)
			for i := range 20 {
				s := randomScalar(t)
				if i == 0 {
					s = edwards25519.NewScalar()
				}
				var sb [32]byte
				copy(sb[:], s.Bytes())
				var buf [maxDigits]int8
				for _, neg := range []bool{false, true} {
					var acc edPoint
					acc.identity()
					tab.accumulate(&acc, recode(buf[:], &sb, w), neg)
					var got [32]byte
					acc.encode(&got)
					want := new(edwards25519.Point).ScalarMult(s, p)
					if neg {
						want.Negate(want)
					}
					if !bytes.Equal(got[:], want.Bytes()) {
						t.Fatalf("point %d w=%d neg=%v: got %x, want %x", pi, w, neg, got, want.Bytes())
					}
				}
			}
		}
	}
}
