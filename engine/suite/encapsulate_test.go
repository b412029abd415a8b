package suite

import (
	"bytes"
	"crypto/rand"
	"testing"
)

// TestEncryptWithLabelTo checks that an encryption whose KEM step ran
// ahead decrypts with DecryptWithLabel for every suite, that each
// encapsulation gives a fresh KEM output, and that a wrong context fails.
func TestEncryptWithLabelTo(t *testing.T) {
	for _, s := range mustSuites(t) {
		priv, pub, err := s.GenerateKeyPair()
		if err != nil {
			t.Fatal(err)
		}
		context := bytes.Repeat([]byte{7}, 5000)
		pt := []byte("group secrets")
		var outputs [][]byte
		for range 2 {
			e, err := s.Encapsulate(pub)
			if err != nil {
				t.Fatalf("%v: %v", s, err)
			}
			kem, ct, err := s.EncryptWithLabelTo(e, "Welcome", context, pt)
			if err != nil {
				t.Fatalf("%v: %v", s, err)
			}
			got, err := s.DecryptWithLabel(priv, "Welcome", context, kem, ct)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("%v: decrypt = %q, %v; want %q", s, got, err, pt)
			}
			if _, err := s.DecryptWithLabel(priv, "Welcome", context[1:], kem, ct); err == nil {
				t.Fatalf("%v: decrypts under another context", s)
			}
			for _, o := range outputs {
				if bytes.Equal(o, kem) {
					t.Fatalf("%v: two encapsulations gave the same KEM output", s)
				}
			}
			outputs = append(outputs, kem)
		}
		if _, err := s.Encapsulate([]byte{1, 2, 3}); err == nil && s.ID() == X25519AES128GCMSHA256Ed25519 {
			t.Fatalf("%v: Encapsulate accepted a 3-byte public key", s)
		}
	}
}

// TestX25519BaseBatch checks the batched public keys against x25519Base,
// one key at a time, for batches of several sizes.
func TestX25519BaseBatch(t *testing.T) {
	bc := newCurve().newBaseComb()
	for _, n := range []int{1, 2, 7, 100} {
		sks := make([][x25519Size]byte, n)
		for i := range sks {
			rand.Read(sks[i][:])
		}
		got, err := x25519BaseBatch(bc, sks)
		if err != nil {
			t.Fatal(err)
		}
		for i := range sks {
			var want [x25519Size]byte
			x25519Base(&want, &sks[i])
			if got[i] != want {
				t.Fatalf("batch of %d, key %d: %x, want %x", n, i, got[i], want)
			}
		}
	}
}

// TestEncapsulateMany checks, for every suite, that encapsulations made
// in a batch decrypt with each recipient's private key, and that a
// malformed public key fails the batch.
func TestEncapsulateMany(t *testing.T) {
	for _, s := range mustSuites(t) {
		const n = 13
		privs := make([][]byte, n)
		pubs := make([][]byte, n)
		for i := range n {
			var err error
			if privs[i], pubs[i], err = s.GenerateKeyPair(); err != nil {
				t.Fatal(err)
			}
		}
		encs, err := s.EncapsulateMany(pubs)
		if err != nil {
			t.Fatalf("%v: %v", s, err)
		}
		for i, e := range encs {
			kem, ct, err := s.EncryptWithLabelTo(e, "UpdatePathNode", []byte("context"), []byte{byte(i)})
			if err != nil {
				t.Fatalf("%v: %v", s, err)
			}
			got, err := s.DecryptWithLabel(privs[i], "UpdatePathNode", []byte("context"), kem, ct)
			if err != nil || !bytes.Equal(got, []byte{byte(i)}) {
				t.Fatalf("%v, recipient %d: decrypt = %x, %v", s, i, got, err)
			}
		}
		if s.ID() == X25519AES128GCMSHA256Ed25519 {
			bad := append(append([][]byte(nil), pubs...), []byte{1, 2, 3})
			if _, err := s.EncapsulateMany(bad); err == nil {
				t.Fatalf("%v: a 3-byte public key was accepted", s)
			}
		}
	}
}
