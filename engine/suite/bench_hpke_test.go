package suite

import (
	"bytes"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/internal/cputime"
)

// loopCPU runs op in a b.Loop and reports, beside ns/op, the process CPU
// time per operation (cpu-ns/op), which other load on the machine inflates
// far less than wall time.
func loopCPU(b *testing.B, op func() error) {
	b.Helper()
	start, ok := cputime.Process()
	for b.Loop() {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	if end, _ := cputime.Process(); ok {
		b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
	}
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
	// The same operations on crypto/hpke's DHKEM(X25519), which the
	// X25519 suites could use instead of circl's.
	std := newStdKEM(kemX25519, aesGCM128)
	priv, pub, err := std.generate()
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
	enc, ct, err := std.seal(pub, info, nil, pt)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("HPKE/Open/crypto-hpke-X25519-AES128GCM", func(b *testing.B) {
		loopCPU(b, func() error {
			_, err := std.open(priv, enc, info, nil, ct)
			return err
		})
	})
	ikm := bytes.Repeat([]byte{1}, 32)
	b.Run("HPKE/DeriveKeyPair/crypto-hpke-X25519", func(b *testing.B) {
		loopCPU(b, func() error {
			_, _, err := std.derive(ikm)
			return err
		})
	})
	circl := newX25519KEM(aesGCM128)
	b.Run("HPKE/DeriveKeyPair/circl-X25519", func(b *testing.B) {
		loopCPU(b, func() error {
			_, _, err := circl.derive(ikm)
			return err
		})
	})
}
