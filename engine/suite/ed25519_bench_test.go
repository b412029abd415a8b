package suite

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"filippo.io/edwards25519"
	circled25519 "github.com/cloudflare/circl/sign/ed25519"
)

// BenchmarkEd25519Verify compares the verifier's paths with
// crypto/ed25519 and circl on one signature of a 200-byte message:
// "table" is a key verified repeatedly (precomputed table), "once" a key
// seen for the first time, "build" the cost of a key's table.
func BenchmarkEd25519Verify(b *testing.B) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	msg := bytes.Repeat([]byte{7}, 200)
	sig := ed25519.Sign(priv, msg)
	b.Run("stdlib", func(b *testing.B) {
		for b.Loop() {
			if !ed25519.Verify(pub, msg, sig) {
				b.Fatal("rejected")
			}
		}
	})
	b.Run("circl", func(b *testing.B) {
		for b.Loop() {
			if !circled25519.Verify(circled25519.PublicKey(pub), msg, sig) {
				b.Fatal("rejected")
			}
		}
	})
	b.Run("once", func(b *testing.B) {
		for b.Loop() {
			if !verifyOnce(pub, msg, sig) {
				b.Fatal("rejected")
			}
		}
	})
	v := newEd25519Verifier()
	b.Run("table", func(b *testing.B) {
		for b.Loop() {
			if !v.verify(pub, msg, sig) {
				b.Fatal("rejected")
			}
		}
	})
	b.Run("build/key", func(b *testing.B) {
		for b.Loop() {
			if _, ok := v.keyTable(pub); !ok {
				b.Fatal("rejected")
			}
		}
	})
	b.Run("build/base", func(b *testing.B) {
		var g edPoint
		g.fromPoint(edwards25519.NewGeneratorPoint())
		for b.Loop() {
			v.c.newFixedTable(&g, baseWindow)
		}
	})
}
