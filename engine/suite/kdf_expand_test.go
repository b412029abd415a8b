package suite

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"testing"
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
