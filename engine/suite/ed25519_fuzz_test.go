package suite

import (
	"bytes"
	"crypto/ed25519"
	"testing"

	"filippo.io/edwards25519"
)

// FuzzEd25519Verify compares every path of the verifier with
// crypto/ed25519.Verify on arbitrary public keys, messages and signatures,
// seeded with valid, forged small- and mixed-order, non-canonical and
// out-of-range cases.
func FuzzEd25519Verify(f *testing.F) {
	seed := bytes.Repeat([]byte{9}, ed25519.SeedSize)
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	msg := []byte("FramedContentTBS")
	sig := ed25519.Sign(priv, msg)
	f.Add([]byte(pub), msg, sig)
	high := bytes.Clone(sig)
	high[63] |= 0x10 // S ≥ L
	f.Add([]byte(pub), msg, high)
	small := smallOrder(f)
	for i, tp := range small {
		a := scalarOf(uint64(i * 1000))
		A := new(edwards25519.Point).ScalarBaseMult(a)
		A.Add(A, tp)
		for _, enc := range append([][]byte{A.Bytes()}, nonCanonical(A)...) {
			f.Add(enc, msg, forge(f, enc, a, tp, msg, nil))
		}
		for _, enc := range append([][]byte{tp.Bytes()}, nonCanonical(tp)...) {
			f.Add([]byte(pub), msg, append(bytes.Clone(enc), sig[32:]...))
			f.Add(enc, msg, append(bytes.Clone(enc), make([]byte, 32)...))
		}
	}
	v := newEd25519Verifier()
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte) {
		checkAgree(t, v, "fuzz", pub, msg, sig)
	})
}
