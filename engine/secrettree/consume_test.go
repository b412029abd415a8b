package secrettree

import (
	"bytes"
	"testing"
)

// consumeOp names one generation of one ratchet.
type consumeOp struct {
	leaf uint32
	ct   ContentType
	gen  uint32
}

// TestConsumeMatchesKeyNonce checks that Consume, which skips deriving the
// consumed key, leaves the tree exactly as KeyNonce does, for the current
// generation, a jump ahead (retaining skipped keys) and a retained late key.
func TestConsumeMatchesKeyNonce(t *testing.T) {
	cases := []struct {
		name string
		ops  []consumeOp
	}{
		{"current", []consumeOp{{1, Application, 0}, {1, Application, 1}}},
		{"jump and late", []consumeOp{{3, Handshake, 5}, {3, Handshake, 2}, {3, Handshake, 6}, {3, Handshake, 0}}},
		{"two leaves", []consumeOp{{0, Application, 0}, {6, Application, 3}, {0, Application, 1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newTree(t, 8, DefaultConfig())
			b := a.Clone()
			for _, op := range tc.ops {
				wantKey, wantNonce, err := b.Peek(op.leaf, op.ct, op.gen)
				if err != nil {
					t.Fatal(err)
				}
				if err := a.Consume(op.leaf, op.ct, op.gen); err != nil {
					t.Fatalf("consume %+v: %v", op, err)
				}
				key, nonce, err := b.KeyNonce(op.leaf, op.ct, op.gen)
				if err != nil {
					t.Fatalf("key nonce %+v: %v", op, err)
				}
				if !bytes.Equal(key, wantKey) || !bytes.Equal(nonce, wantNonce) {
					t.Fatalf("%+v: KeyNonce differs from Peek", op)
				}
				got, err := a.MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				want, err := b.MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("after %+v: tree after Consume differs from tree after KeyNonce", op)
				}
			}
		})
	}
}
