package suite

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
	circled25519 "github.com/cloudflare/circl/sign/ed25519"
)

// BenchmarkEd25519Verify compares the verifier's paths with
// crypto/ed25519 and circl on one signature of a 200-byte message, with
// the process CPU time per operation (cpu-ns/op, steadier than wall time
// on a shared machine): "once" is a key seen for the first time
// (verifySplit), "table" a key verified repeatedly (precomputed table),
// "build" the cost of a key's table and of the verifier's base tables.
func BenchmarkEd25519Verify(b *testing.B) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	msg := bytes.Repeat([]byte{7}, 200)
	sig := ed25519.Sign(priv, msg)
	errRejected := errors.New("rejected")
	check := func(ok bool) error {
		if !ok {
			return errRejected
		}
		return nil
	}
	b.Run("stdlib", func(b *testing.B) {
		loopCPU(b, func() error { return check(ed25519.Verify(pub, msg, sig)) })
	})
	b.Run("circl", func(b *testing.B) {
		loopCPU(b, func() error { return check(circled25519.Verify(circled25519.PublicKey(pub), msg, sig)) })
	})
	v := newEd25519Verifier()
	b.Run("once", func(b *testing.B) {
		loopCPU(b, func() error { return check(v.verifyOnce(pub, msg, sig)) })
	})
	b.Run("table", func(b *testing.B) {
		loopCPU(b, func() error { return check(v.verify(pub, msg, sig)) })
	})
	b.Run("build/key", func(b *testing.B) {
		loopCPU(b, func() error {
			_, ok := v.keyTable(pub)
			return check(ok)
		})
	})
	b.Run("build/base", func(b *testing.B) {
		var g edPoint
		g.fromPoint(edwards25519.NewGeneratorPoint())
		loopCPU(b, func() error {
			v.c.newFixedTable(&g, baseWindow)
			return nil
		})
	})
	b.Run("build/splitbase", func(b *testing.B) {
		loopCPU(b, func() error {
			v.c.newSplitBase()
			return nil
		})
	})
}

// BenchmarkSplitScalar measures the lattice reduction of a random k.
func BenchmarkSplitScalar(b *testing.B) {
	k := [32]byte(randomScalar(b).Bytes())
	for b.Loop() {
		splitScalar(&k)
	}
}

// BenchmarkEd25519Sign compares crypto/ed25519.Sign with this package's
// streaming signer on a 200-byte message.
func BenchmarkEd25519Sign(b *testing.B) {
	seed := bytes.Repeat([]byte{5}, ed25519.SeedSize)
	msg := bytes.Repeat([]byte{7}, 200)
	std := ed25519.NewKeyFromSeed(seed)
	k, err := parseEd25519(seed)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("stdlib", func(b *testing.B) {
		loopCPU(b, func() error { ed25519.Sign(std, msg); return nil })
	})
	bc := newCurve().newBaseComb()
	b.Run("parts", func(b *testing.B) {
		loopCPU(b, func() error { k.sign(bc, msg[:40], msg[40:]); return nil })
	})
}

func BenchmarkInvert(b *testing.B) {
	z, _ := new(field.Element).SetBytes(bytes.Repeat([]byte{0x5a}, 32))
	var out field.Element
	b.Run("fermat", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			out.Invert(z)
		}
	})
	b.Run("vartime", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			invertVartime(&out, z)
		}
	})
}
