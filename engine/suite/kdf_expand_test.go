package suite

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
)

// TestExpandSHA256 compares Suite.Expand of the SHA-256 suites, whose one-
// block outputs take hmacSHA256, with crypto/hkdf for short and long info
// (hmacSHA256's stack path and its crypto/hmac fallback) and every length
// around the block size.
func TestExpandSHA256(t *testing.T) {
	s, err := New(X25519AES128GCMSHA256Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	for _, prkLen := range []int{0, 16, 32, 64, 65, 100} {
		for _, infoLen := range []int{0, 1, 40, hmacShortMax - 1, hmacShortMax, hmacShortMax + 1, 1000} {
			for _, n := range []int{0, 1, 12, 16, 31, 32, 33, 64, 100} {
				prk := make([]byte, prkLen)
				info := make([]byte, infoLen)
				rand.Read(prk)
				rand.Read(info)
				got := s.Expand(prk, info, n)
				want, err := hkdf.Expand(sha256.New, prk, string(info), n)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) || len(got) != n {
					t.Fatalf("prk %d info %d n %d: got %x, want %x", prkLen, infoLen, n, got, want)
				}
			}
		}
	}
}

// TestExpandWithLabelShort compares ExpandWithLabel, whose short one-block
// derivations build the KDFLabel on the stack, with crypto/hkdf over a
// KDFLabel encoded with codec.Writer, for label and context lengths on both sides of
// the one-byte varint limit and lengths around the hash size.
func TestExpandWithLabelShort(t *testing.T) {
	s, err := New(X25519AES128GCMSHA256Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	for _, labelLen := range []int{0, 3, 55, 56, 57, 70} {
		for _, ctxLen := range []int{0, 4, 63, 64, 65, 200} {
			for _, n := range []int{0, 12, 16, 32, 33, 64} {
				label := string(bytes.Repeat([]byte{'l'}, labelLen))
				ctx := make([]byte, ctxLen)
				rand.Read(ctx)
				w := codec.NewWriter(nil)
				w.Uint16(uint16(n))
				w.Opaque([]byte(labelPrefix + label))
				w.Opaque(ctx)
				info := w.Bytes()
				want, err := hkdf.Expand(sha256.New, secret, string(info), n)
				if err != nil {
					t.Fatal(err)
				}
				if got := s.ExpandWithLabel(secret, label, ctx, n); !bytes.Equal(got, want) {
					t.Fatalf("label %d, context %d, length %d: got %x, want %x", labelLen, ctxLen, n, got, want)
				}
			}
		}
	}
}
