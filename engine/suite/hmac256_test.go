package suite

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	mrand "math/rand/v2"
	"testing"
)

// TestHMACSHA256 checks hmacSHA256 against crypto/hmac for random keys
// (empty, short, block-sized, longer than a block) and messages split in
// random parts, on both sides of the stack-buffer limit.
func TestHMACSHA256(t *testing.T) {
	r := mrand.New(mrand.NewPCG(3, 4))
	for i := range 2000 {
		key := randomLen(t, r, 100)
		if i%7 == 0 {
			key = randomLen(t, r, 300)
		}
		msgLen := r.IntN(hmacShortMax + 40)
		if i%11 == 0 {
			msgLen = hmacShortMax + r.IntN(2) // at and just above the limit
		}
		msg := randomLen(t, r, 0)
		for len(msg) < msgLen {
			msg = append(msg, byte(r.Uint32()))
		}
		var parts [][]byte
		for rest := msg; ; {
			cut := r.IntN(len(rest) + 1)
			parts = append(parts, rest[:cut])
			rest = rest[cut:]
			if len(rest) == 0 {
				break
			}
		}
		m := hmac.New(sha256.New, key)
		m.Write(msg)
		want := m.Sum(nil)
		if got := hmacSHA256(key, parts...); !bytes.Equal(got[:], want) {
			t.Fatalf("hmacSHA256(key %d bytes, msg %d bytes in %d parts) = %x, want %x", len(key), len(msg), len(parts), got, want)
		}
	}
}
