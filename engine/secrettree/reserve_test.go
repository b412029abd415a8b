package secrettree

import (
	"bytes"
	"errors"
	"testing"
)

// TestReserveStoresNoUsedKey checks the sender's side of RFC 9420 §9.2 at
// rest: once generations are reserved, the encoding — what a store holds —
// yields neither the key of a generation the sender used nor the secret
// of any node above its leaf, while Next keeps serving the reserved
// generations from memory with the keys a receiver derives.
func TestReserveStoresNoUsedKey(t *testing.T) {
	const leaf, until = 2, 8
	snd := newTree(t, 5, DefaultConfig())
	rcv := newTree(t, 5, DefaultConfig())
	if err := snd.Reserve(leaf, Application, until); err != nil {
		t.Fatal(err)
	}
	if header, leaves := snd.TakeChanges(); !header || len(leaves) != 1 || leaves[0] != leaf {
		t.Fatalf("Reserve reported changes header=%v leaves=%v; want the header and leaf %d", header, leaves, leaf)
	}
	for gen := range uint32(5) {
		g, k, n, err := snd.Next(leaf, Application)
		if err != nil || g != gen {
			t.Fatalf("Next = generation %d, %v; want %d", g, err, gen)
		}
		wk, wn, err := rcv.KeyNonce(leaf, Application, gen)
		if err != nil || !bytes.Equal(k, wk) || !bytes.Equal(n, wn) {
			t.Fatalf("generation %d: sender's key differs from the receiver's (%v)", gen, err)
		}
		if header, leaves := snd.TakeChanges(); header || len(leaves) != 0 {
			t.Fatalf("Next inside the reservation changed header=%v leaves=%v; want nothing to store", header, leaves)
		}
		stored := new(Tree)
		if err := stored.UnmarshalBinary(mustMarshal(t, snd)); err != nil {
			t.Fatal(err)
		}
		for used := range gen + 1 {
			if _, _, err := stored.Peek(leaf, Application, used); !errors.Is(err, ErrStale) {
				t.Fatalf("after generation %d: the stored tree gives used generation %d (%v)", gen, used, err)
			}
		}
		if next, _ := stored.Generation(leaf, Application); next != until {
			t.Fatalf("stored ratchet at generation %d, want %d", next, until)
		}
		for _, x := range path(5, 2*leaf) {
			if _, ok := stored.nodes[x]; ok {
				t.Fatalf("stored tree keeps node %d on the sender's path", x)
			}
		}
		// The other leaves still decrypt from what is stored.
		if _, _, err := stored.KeyNonce(0, Application, 0); err != nil {
			t.Fatalf("stored tree lost leaf 0: %v", err)
		}
	}
	// Extending the reservation from the old one, then going beyond it
	// without one, stores the ratchet itself again.
	if err := snd.Reserve(leaf, Application, until+2); err != nil {
		t.Fatal(err)
	}
	for range until + 3 - 5 {
		if _, _, _, err := snd.Next(leaf, Application); err != nil {
			t.Fatal(err)
		}
	}
	_, leaves := snd.TakeChanges()
	if len(leaves) != 1 {
		t.Fatalf("Next past the reservation reported leaves %v, want %d", leaves, leaf)
	}
	stored := new(Tree)
	if err := stored.UnmarshalBinary(mustMarshal(t, snd)); err != nil {
		t.Fatal(err)
	}
	if next, _ := stored.Generation(leaf, Application); next != until+3 {
		t.Errorf("after the reservation ran out the stored ratchet is at %d, want %d", next, until+3)
	}
}

// TestReserveNoOp checks that a reservation never moves backwards and
// that a ratchet already past until stays as it is.
func TestReserveNoOp(t *testing.T) {
	tr := newTree(t, 2, DefaultConfig())
	if err := tr.Reserve(1, Handshake, 6); err != nil {
		t.Fatal(err)
	}
	before := mustMarshal(t, tr)
	tr.TakeChanges()
	if err := tr.Reserve(1, Handshake, 3); err != nil {
		t.Fatal(err)
	}
	if _, leaves := tr.TakeChanges(); len(leaves) != 0 || !bytes.Equal(before, mustMarshal(t, tr)) {
		t.Error("a smaller reservation changed the tree")
	}
	if err := tr.AdvanceTo(0, Application, 4); err != nil {
		t.Fatal(err)
	}
	if err := tr.Reserve(0, Application, 2); err != nil {
		t.Fatal(err)
	}
	if g, _ := tr.Generation(0, Application); g != 4 {
		t.Errorf("Reserve below the ratchet moved it to %d", g)
	}
	if _, _, err := tr.Peek(0, Application, 4); err != nil {
		t.Errorf("Reserve below the ratchet: %v", err)
	}
}

// TestReserveAfterClone checks that reservations follow copy on write:
// extending or using up a clone's reservation changes neither the
// original's encoding nor its keys, and wiping the clone zeroes only what
// it derived itself.
func TestReserveAfterClone(t *testing.T) {
	tr := newTree(t, 3, DefaultConfig())
	if err := tr.Reserve(1, Application, 4); err != nil {
		t.Fatal(err)
	}
	want := mustMarshal(t, tr)
	shared := tr.leaf(1).r[Application].res.secret
	c := tr.Clone()
	for range 4 {
		if _, _, _, err := c.Next(1, Application); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Reserve(1, Application, 9); err != nil {
		t.Fatal(err)
	}
	own := c.leaf(1).r[Application].res.secret
	c.Wipe()
	if !bytes.Equal(own, make([]byte, len(own))) {
		t.Error("Wipe of the clone left its reservation's secret in memory")
	}
	if bytes.Equal(shared, make([]byte, len(shared))) {
		t.Error("the clone zeroed the reservation the original still holds")
	}
	if got := mustMarshal(t, tr); !bytes.Equal(got, want) {
		t.Error("changes to the clone changed the original's encoding")
	}
	ref := newTree(t, 3, DefaultConfig())
	g, k, _, err := tr.Next(1, Application)
	wk, _, _ := ref.KeyNonce(1, Application, 0)
	if err != nil || g != 0 || !bytes.Equal(k, wk) {
		t.Errorf("original after the clone's changes: generation %d, %v", g, err)
	}
}

// TestDeriveLeaf checks that deriving a leaf's ratchets leaves no stored
// node on its path, reports the header and the leaf, starts both ratchets
// at generation 0 with the receiver's keys, and does nothing the second
// time.
func TestDeriveLeaf(t *testing.T) {
	tr := newTree(t, 6, DefaultConfig())
	ref := newTree(t, 6, DefaultConfig())
	if err := tr.DeriveLeaf(5); err != nil {
		t.Fatal(err)
	}
	if header, leaves := tr.TakeChanges(); !header || len(leaves) != 1 || leaves[0] != 5 {
		t.Fatalf("DeriveLeaf reported header=%v leaves=%v", header, leaves)
	}
	for _, x := range path(6, 10) {
		if _, ok := tr.nodes[x]; ok {
			t.Fatalf("node %d on the leaf's path is still stored", x)
		}
	}
	if err := tr.DeriveLeaf(5); err != nil {
		t.Fatal(err)
	}
	if header, leaves := tr.TakeChanges(); header || len(leaves) != 0 {
		t.Fatalf("a second DeriveLeaf reported header=%v leaves=%v", header, leaves)
	}
	for _, ct := range []ContentType{Handshake, Application} {
		g, k, _, err := tr.Next(5, ct)
		wk, _, _ := ref.KeyNonce(5, ct, 0)
		if err != nil || g != 0 || !bytes.Equal(k, wk) {
			t.Errorf("%v ratchet after DeriveLeaf: generation %d, %v", ct, g, err)
		}
	}
}
