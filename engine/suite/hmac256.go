package suite

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
)

// hmacShortMax is the longest message [hmacSHA256] hashes in its stack
// buffer; longer ones go through crypto/hmac.
const hmacShortMax = 192

// hmacSHA256 returns HMAC-SHA256(key, msg[0] || msg[1] || ...) (RFC 2104)
// without heap allocations when the message is at most hmacShortMax bytes,
// which every HPKE key-schedule step with a short label is: crypto/hmac
// allocates two digests and two pads per call, and a seal makes six calls.
func hmacSHA256(key []byte, msg ...[]byte) [sha256.Size]byte {
	n := 0
	for _, m := range msg {
		n += len(m)
	}
	if n > hmacShortMax {
		// Copies keep key and msg from escaping, so that the short path
		// stays allocation-free for the callers.
		h := hmac.New(sha256.New, bytes.Clone(key))
		buf := make([]byte, 0, n)
		for _, m := range msg {
			buf = append(buf, m...)
		}
		h.Write(buf)
		var out [sha256.Size]byte
		h.Sum(out[:0])
		return out
	}
	var k [sha256.BlockSize]byte
	if len(key) > sha256.BlockSize {
		sum := sha256.Sum256(key)
		copy(k[:], sum[:])
	} else {
		copy(k[:], key)
	}
	var inner [sha256.BlockSize + hmacShortMax]byte
	for i, b := range k {
		inner[i] = b ^ 0x36
	}
	off := sha256.BlockSize
	for _, m := range msg {
		off += copy(inner[off:], m)
	}
	ih := sha256.Sum256(inner[:off])
	var outer [sha256.BlockSize + sha256.Size]byte
	for i, b := range k {
		outer[i] = b ^ 0x5c
	}
	copy(outer[sha256.BlockSize:], ih[:])
	return sha256.Sum256(outer[:])
}
