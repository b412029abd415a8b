package uploader

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"filippo.io/age"
)

// BenchmarkEncryptor measures the streaming encryption alone (age
// ChaCha20-Poly1305 plus both SHA-256 digests), without a store.
func BenchmarkEncryptor(b *testing.B) {
	k := newTestKeys(b)
	for _, n := range []int{1 << 10, 256 << 10, 64 << 20} {
		data := make([]byte, n)
		b.Run(fmt.Sprintf("size=%d", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				e, err := newEncryptor(bytes.NewReader(data), int64(n), []age.Recipient{k.rec}, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
