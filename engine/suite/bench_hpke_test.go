package suite

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"testing"
)

// loopCPU runs op in a b.Loop and reports, beside ns/op, the process CPU
// time per operation (cpu-ns/op), which other load on the machine inflates
// far less than wall time.
func loopCPU(b *testing.B, op func() error) {
	b.Helper()
	start := processCPU(b)
	for b.Loop() {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
}

// benchX25519 compares the X25519 operations of crypto/ecdh with this
// package's: the public key of a scalar (a Montgomery ladder in
// crypto/ecdh, a fixed-base Edwards multiplication here) and the DH
// (crypto/ecdh also computes the public key when it parses the scalar;
// here it is circl's ladder alone).
func benchX25519(b *testing.B) {
	sk, peer := new([x25519Size]byte), new([x25519Size]byte)
	if _, err := rand.Read(sk[:]); err != nil {
		b.Fatal(err)
	}
	x25519Base(peer, sk)
	if _, err := rand.Read(sk[:]); err != nil {
		b.Fatal(err)
	}
	b.Run("X25519/BaseMult/crypto-ecdh", func(b *testing.B) {
		loopCPU(b, func() error {
			_, err := ecdh.X25519().NewPrivateKey(sk[:])
			return err
		})
	})
	b.Run("X25519/BaseMult/edwards25519", func(b *testing.B) {
		var out [x25519Size]byte
		loopCPU(b, func() error {
			x25519Base(&out, sk)
			return nil
		})
	})
	b.Run("X25519/DH/crypto-ecdh", func(b *testing.B) {
		pk, err := ecdh.X25519().NewPublicKey(peer[:])
		if err != nil {
			b.Fatal(err)
		}
		loopCPU(b, func() error {
			k, err := ecdh.X25519().NewPrivateKey(sk[:])
			if err != nil {
				return err
			}
			_, err = k.ECDH(pk)
			return err
		})
	})
	b.Run("X25519/DH/circl", func(b *testing.B) {
		var out [x25519Size]byte
		loopCPU(b, func() error {
			x25519DH(&out, sk, peer)
			return nil
		})
	})
}

// benchHPKE measures EncryptWithLabel (SealBase) and DecryptWithLabel
// (OpenBase) of a 32-byte path secret for every suite, plus SealBase of
// crypto/hpke's DHKEM(X25519) for comparison with ours.
func benchHPKE(b *testing.B) {
	content := bytes.Repeat([]byte{2}, 200)
	pt := bytes.Repeat([]byte{3}, 32)
	for _, id := range All() {
		s, err := New(id)
		if err != nil {
			b.Fatal(err)
		}
		priv, pub, err := s.GenerateKeyPair()
		if err != nil {
			b.Fatal(err)
		}
		b.Run("HPKE/Seal/"+id.String(), func(b *testing.B) {
			loopCPU(b, func() error {
				_, _, err := s.EncryptWithLabel(pub, "UpdatePathNode", content, pt)
				return err
			})
		})
		kemOut, ct, err := s.EncryptWithLabel(pub, "UpdatePathNode", content, pt)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("HPKE/Open/"+id.String(), func(b *testing.B) {
			loopCPU(b, func() error {
				_, err := s.DecryptWithLabel(priv, "UpdatePathNode", content, kemOut, ct)
				return err
			})
		})
	}
	std := newStdKEM(kemX25519, aesGCM128)
	_, pub, err := std.generate()
	if err != nil {
		b.Fatal(err)
	}
	info := encryptContext("UpdatePathNode", content)
	b.Run("HPKE/Seal/crypto-hpke-X25519-AES128GCM", func(b *testing.B) {
		loopCPU(b, func() error {
			_, _, err := std.seal(pub, info, nil, pt)
			return err
		})
	})
}
