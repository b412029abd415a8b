package suite

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"testing"
)

// BenchmarkPrimitives measures the primitives suite 1 cannot avoid; the
// group benchmarks report their cost as a ratio of these.
func BenchmarkPrimitives(b *testing.B) {
	s, err := New(X25519AES128GCMSHA256Ed25519)
	if err != nil {
		b.Fatal(err)
	}
	ikm := bytes.Repeat([]byte{1}, s.Nh())

	b.Run("X25519/DeriveKeyPair", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := s.DeriveKeyPair(ikm); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("X25519/ECDH", func(b *testing.B) {
		k1, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		k2, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := k1.ECDH(k2.PublicKey()); err != nil {
				b.Fatal(err)
			}
		}
	})

	sigPriv, sigPub, err := s.GenerateSignatureKey()
	if err != nil {
		b.Fatal(err)
	}
	content := bytes.Repeat([]byte{2}, 200)
	b.Run("Ed25519/Sign", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.SignWithLabel(sigPriv, "FramedContentTBS", content); err != nil {
				b.Fatal(err)
			}
		}
	})
	sig, err := s.SignWithLabel(sigPriv, "FramedContentTBS", content)
	if err != nil {
		b.Fatal(err)
	}
	// Verify runs the scheme each time (the signature scheme's cost);
	// VerifyRepeat verifies one signature again and again, which the
	// Suite's cache of successful verifications answers.
	b.Run("Ed25519/Verify", func(b *testing.B) {
		for b.Loop() {
			if err := s.sig.verify(sigPub, signContent("FramedContentTBS", content), sig); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Ed25519/VerifyRepeat", func(b *testing.B) {
		for b.Loop() {
			if err := s.VerifyWithLabel(sigPub, "FramedContentTBS", content, sig); err != nil {
				b.Fatal(err)
			}
		}
	})

	hpkePriv, hpkePub, err := s.GenerateKeyPair()
	if err != nil {
		b.Fatal(err)
	}
	pt := bytes.Repeat([]byte{3}, 32)
	b.Run("HPKE/Seal", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := s.EncryptWithLabel(hpkePub, "UpdatePathNode", content, pt); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Two key pairs used alternately, as decrypting with different path
	// keys does; OpenSameKey uses one.
	priv2, pub2, err := s.GenerateKeyPair()
	if err != nil {
		b.Fatal(err)
	}
	type sealed struct{ priv, kemOut, ct []byte }
	var msgs [2]sealed
	for i, kp := range [][2][]byte{{hpkePriv, hpkePub}, {priv2, pub2}} {
		kemOut, ct, err := s.EncryptWithLabel(kp[1], "UpdatePathNode", content, pt)
		if err != nil {
			b.Fatal(err)
		}
		msgs[i] = sealed{kp[0], kemOut, ct}
	}
	b.Run("HPKE/Open", func(b *testing.B) {
		i := 0
		for b.Loop() {
			m := msgs[i%2]
			i++
			if _, err := s.DecryptWithLabel(m.priv, "UpdatePathNode", content, m.kemOut, m.ct); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("HPKE/OpenSameKey", func(b *testing.B) {
		m := msgs[0]
		for b.Loop() {
			if _, err := s.DecryptWithLabel(m.priv, "UpdatePathNode", content, m.kemOut, m.ct); err != nil {
				b.Fatal(err)
			}
		}
	})

	benchHPKE(b)

	key := bytes.Repeat([]byte{4}, s.KeySize())
	nonce := bytes.Repeat([]byte{5}, s.NonceSize())
	msg := bytes.Repeat([]byte{6}, 100)
	b.Run("AEAD/SealOpen100", func(b *testing.B) {
		for b.Loop() {
			c, err := s.Seal(key, nonce, content[:40], msg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.Open(key, nonce, content[:40], c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("KDF/DeriveTreeSecret", func(b *testing.B) {
		for b.Loop() {
			s.DeriveTreeSecret(ikm, "secret", 7, s.Nh())
		}
	})
}
