package secrettree

import (
	"bytes"
	"slices"
	"testing"
)

// TestCloneChainManyLeaves follows the engine's pattern — clone, change
// one leaf, keep the clone — over more leaves than the recent list holds,
// and checks every step against a tree that is never cloned: same
// encoding, same change set, and the tree cloned from is unchanged.
func TestCloneChainManyLeaves(t *testing.T) {
	for _, leaves := range []uint32{1, 3, maxRecent + 1, 40} {
		ref := newTree(t, leaves, Config{MaxForward: 1024, MaxRetained: 3})
		cur := newTree(t, leaves, Config{MaxForward: 1024, MaxRetained: 3})
		for i := range 300 {
			before := mustMarshal(t, cur)
			next := cur.Clone()
			leaf := uint32(i*7) % leaves
			ct := ContentType(i % 2)
			gen := uint32(i / int(leaves) * 2)
			if i%3 == 0 {
				_, _, _, err1 := ref.Next(leaf, ct)
				_, _, _, err2 := next.Next(leaf, ct)
				if (err1 == nil) != (err2 == nil) {
					t.Fatalf("leaves %d step %d: Next errors %v, %v", leaves, i, err1, err2)
				}
			} else {
				err1 := ref.Consume(leaf, ct, gen)
				err2 := next.Consume(leaf, ct, gen)
				if (err1 == nil) != (err2 == nil) {
					t.Fatalf("leaves %d step %d: Consume errors %v, %v", leaves, i, err1, err2)
				}
			}
			if got := mustMarshal(t, cur); !bytes.Equal(got, before) {
				t.Fatalf("leaves %d step %d: changing the clone changed the tree cloned from", leaves, i)
			}
			if got, want := mustMarshal(t, next), mustMarshal(t, ref); !bytes.Equal(got, want) {
				t.Fatalf("leaves %d step %d: clone encodes differently from the reference", leaves, i)
			}
			h1, l1 := ref.TakeChanges()
			h2, l2 := next.TakeChanges()
			if h1 != h2 || !slices.Equal(l1, l2) {
				t.Fatalf("leaves %d step %d: changes %v %v, want %v %v", leaves, i, h2, l2, h1, l1)
			}
			cur = next
		}
	}
}

// TestChangeSetAfterClone checks that a clone inherits the pending change
// set and that taking it in one tree leaves the other's intact.
func TestChangeSetAfterClone(t *testing.T) {
	tr := newTree(t, 8, DefaultConfig())
	tr.TakeChanges()
	for _, l := range []uint32{5, 1} {
		if err := tr.Consume(l, Application, 0); err != nil {
			t.Fatal(err)
		}
	}
	c := tr.Clone()
	if err := c.Consume(3, Handshake, 0); err != nil {
		t.Fatal(err)
	}
	if _, got := tr.TakeChanges(); !slices.Equal(got, []uint32{1, 5}) {
		t.Errorf("original's changes = %v, want [1 5]", got)
	}
	if _, got := c.TakeChanges(); !slices.Equal(got, []uint32{1, 3, 5}) {
		t.Errorf("clone's changes = %v, want [1 3 5]", got)
	}
	if _, got := c.TakeChanges(); len(got) != 0 {
		t.Errorf("changes after taking them = %v, want none", got)
	}
}

// TestWipeAfterClone checks that a clone zeroes the ratchet secrets it
// derived itself when wiped, and not those it shares with the tree it was
// cloned from.
func TestWipeAfterClone(t *testing.T) {
	tr := newTree(t, 4, DefaultConfig())
	if err := tr.Consume(2, Application, 0); err != nil {
		t.Fatal(err)
	}
	shared := tr.leaf(2).r[Handshake].secret
	c := tr.Clone()
	if err := c.Consume(2, Application, 1); err != nil {
		t.Fatal(err)
	}
	own := c.leaf(2).r[Application].secret
	c.Wipe()
	if !bytes.Equal(own, make([]byte, len(own))) {
		t.Error("Wipe of the clone left a secret it derived in memory")
	}
	if bytes.Equal(shared, make([]byte, len(shared))) {
		t.Error("Wipe of the clone zeroed a secret the original still uses")
	}
	if _, _, err := tr.KeyNonce(2, Handshake, 0); err != nil {
		t.Errorf("original after the clone's Wipe: %v", err)
	}
}

// TestMarshalLeafSize checks that a leaf record is encoded into a buffer
// of exactly its size.
func TestMarshalLeafSize(t *testing.T) {
	tr := newTree(t, 2, Config{MaxForward: 1024, MaxRetained: 5})
	for _, gen := range []uint32{0, 4, 90} {
		if err := tr.Consume(1, Application, gen); err != nil {
			t.Fatal(err)
		}
		b, ok := tr.MarshalLeaf(1)
		if !ok {
			t.Fatal("MarshalLeaf: no ratchets")
		}
		if got, want := len(b), leafLen(tr.leaf(1)); got != want || cap(b) != want {
			t.Errorf("generation %d: record of %d bytes (capacity %d), want %d", gen, got, cap(b), want)
		}
	}
}
