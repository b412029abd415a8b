package secrettree

import (
	"fmt"
	"testing"
)

// BenchmarkSecretTree measures the secret-tree work of one application
// message (sender Next plus receiver Peek and KeyNonce), the first message
// of a leaf (path derivation), and encoding the whole state.
func BenchmarkSecretTree(b *testing.B) {
	for _, n := range []uint32{2, 100, 10000} {
		b.Run(fmt.Sprintf("message/n=%d", n), func(b *testing.B) {
			snd := newTree(b, n, DefaultConfig())
			rcv := newTree(b, n, DefaultConfig())
			leaf := n - 1
			for b.Loop() {
				g, _, _, err := snd.Next(leaf, Application)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := rcv.Peek(leaf, Application, g); err != nil {
					b.Fatal(err)
				}
				if _, _, err := rcv.KeyNonce(leaf, Application, g); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("first-message/n=%d", n), func(b *testing.B) {
			s := testSuite(b)
			secret := make([]byte, s.Nh())
			for b.Loop() {
				tr, err := New(s, secret, n, DefaultConfig())
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := tr.KeyNonce(n/2, Application, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("marshal-all-leaves/n=1000", func(b *testing.B) {
		tr := newTree(b, 1000, DefaultConfig())
		for leaf := range uint32(1000) {
			if err := tr.Consume(leaf, Application, 0); err != nil {
				b.Fatal(err)
			}
		}
		for b.Loop() {
			if _, err := tr.MarshalBinary(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
