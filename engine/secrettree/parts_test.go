package secrettree

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestTakeChanges(t *testing.T) {
	tr := newTree(t, 8, DefaultConfig())
	steps := []struct {
		name       string
		op         func() error
		wantHeader bool
		wantLeaves []uint32
	}{
		{"new", func() error { return nil }, true, nil},
		{"nothing", func() error { return nil }, false, nil},
		{"peek", func() error { _, _, err := tr.Peek(2, Application, 3); return err }, false, nil},
		{"first use of leaf 2", func() error { return tr.Consume(2, Application, 3) }, true, []uint32{2}},
		{"late key of leaf 2", func() error { return tr.Consume(2, Application, 1) }, false, []uint32{2}},
		{"send on leaf 5", func() error { _, _, _, err := tr.Next(5, Handshake); return err }, true, []uint32{5}},
		{"advance leaf 5", func() error { return tr.AdvanceTo(5, Handshake, 9) }, false, []uint32{5}},
		{"advance leaf 5 backwards", func() error { return tr.AdvanceTo(5, Handshake, 2) }, false, nil},
		{"rejected request", func() error { tr.KeyNonce(2, Application, 3); return nil }, false, nil},
		{"two leaves", func() error {
			if err := tr.Consume(7, Handshake, 0); err != nil {
				return err
			}
			return tr.Consume(2, Handshake, 0)
		}, true, []uint32{2, 7}},
		{"set config trims leaf 2", func() error { return tr.SetConfig(Config{MaxForward: 5, MaxRetained: 0}) }, true, []uint32{2}},
	}
	for _, st := range steps {
		if err := st.op(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		h, l := tr.TakeChanges()
		if h != st.wantHeader || !slices.Equal(l, st.wantLeaves) {
			t.Errorf("%s: TakeChanges = %v, %v; want %v, %v", st.name, h, l, st.wantHeader, st.wantLeaves)
		}
	}
}

// TestIncrementalPersistence is a property test: persisting only what
// TakeChanges reports after each random operation always reassembles, with
// UnmarshalParts, into exactly the live tree.
func TestIncrementalPersistence(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	tr := newTree(t, 16, Config{MaxForward: 20, MaxRetained: 3})
	var header []byte
	stored := map[uint32][]byte{}
	for step := range 400 {
		leaf := uint32(rng.IntN(16))
		ct := ContentType(rng.IntN(2))
		switch rng.IntN(3) {
		case 0:
			tr.Next(leaf, ct)
		case 1:
			g, _ := tr.Generation(leaf, ct)
			tr.KeyNonce(leaf, ct, uint32(max(0, int(g)+rng.IntN(10)-5)))
		case 2:
			tr.Peek(leaf, ct, uint32(rng.IntN(5)))
		}
		h, changed := tr.TakeChanges()
		if h {
			b, err := tr.MarshalHeader()
			if err != nil {
				t.Fatal(err)
			}
			header = b
		}
		for _, l := range changed {
			rec, ok := tr.MarshalLeaf(l)
			if !ok {
				t.Fatalf("step %d: changed leaf %d has no record", step, l)
			}
			stored[l] = rec
		}
		var recs [][]byte
		for _, rec := range stored {
			recs = append(recs, rec) // map order: UnmarshalParts must not care
		}
		var back Tree
		if err := back.UnmarshalParts(header, recs); err != nil {
			t.Fatalf("step %d: UnmarshalParts: %v", step, err)
		}
		if !bytes.Equal(mustMarshal(t, &back), mustMarshal(t, tr)) {
			t.Fatalf("step %d: reassembled tree differs from the live one", step)
		}
	}
}

func TestUnmarshalPartsRejects(t *testing.T) {
	tr := newTree(t, 4, DefaultConfig())
	for _, leaf := range []uint32{0, 3} {
		if err := tr.Consume(leaf, Application, 0); err != nil {
			t.Fatal(err)
		}
	}
	header, err := tr.MarshalHeader()
	if err != nil {
		t.Fatal(err)
	}
	r0, _ := tr.MarshalLeaf(0)
	r3, _ := tr.MarshalLeaf(3)
	if _, ok := tr.MarshalLeaf(1); ok {
		t.Error("MarshalLeaf of a leaf without ratchets returned a record")
	}
	if got := tr.LeavesWithRatchets(); !slices.Equal(got, []uint32{0, 3}) {
		t.Errorf("LeavesWithRatchets = %v, want [0 3]", got)
	}
	var ok Tree
	if err := ok.UnmarshalParts(header, [][]byte{r3, r0}); err != nil {
		t.Fatalf("valid parts rejected: %v", err)
	}
	tests := []struct {
		name   string
		header []byte
		leaves [][]byte
	}{
		{"missing leaf", header, [][]byte{r0}},
		{"duplicate leaf", header, [][]byte{r0, r3, r0}},
		{"trailing byte in record", header, [][]byte{r0, append(bytes.Clone(r3), 0)}},
		{"truncated record", header, [][]byte{r0, r3[:len(r3)-1]}},
		{"trailing byte in header", append(bytes.Clone(header), 0), [][]byte{r0, r3}},
		{"empty header", nil, [][]byte{r0, r3}},
	}
	for _, tc := range tests {
		var tr2 Tree
		if err := tr2.UnmarshalParts(tc.header, tc.leaves); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: UnmarshalParts = %v, want ErrFormat", tc.name, err)
		}
	}
}
