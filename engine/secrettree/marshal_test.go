package secrettree

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/suite"
)

// sampleStates returns encodings of trees in varied states, used as round
// trip cases and fuzz seeds.
func sampleStates(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	add := func(tr *Tree) { out = append(out, mustMarshal(t, tr)) }
	add(newTree(t, 1, DefaultConfig()))
	tr := newTree(t, 8, Config{MaxForward: 20, MaxRetained: 4})
	add(tr)
	if err := tr.Consume(3, Application, 9); err != nil {
		t.Fatal(err)
	}
	add(tr)
	if _, _, _, err := tr.Next(6, Handshake); err != nil {
		t.Fatal(err)
	}
	add(tr)
	odd := newTree(t, 5, DefaultConfig())
	for leaf := range uint32(5) {
		if err := odd.Consume(leaf, Handshake, leaf); err != nil {
			t.Fatal(err)
		}
	}
	add(odd)
	s, err := suite.New(suite.P384AES256GCMSHA384P384)
	if err != nil {
		t.Fatal(err)
	}
	big, err := New(s, make([]byte, s.Nh()), 1000, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Consume(999, Handshake, 2); err != nil {
		t.Fatal(err)
	}
	add(big)
	return out
}

func TestMarshalRoundTrip(t *testing.T) {
	for i, b := range sampleStates(t) {
		var tr Tree
		if err := tr.UnmarshalBinary(b); err != nil {
			t.Fatalf("state %d: %v", i, err)
		}
		if got := mustMarshal(t, &tr); !bytes.Equal(got, b) {
			t.Errorf("state %d: re-encoding differs", i)
		}
	}
	var zero Tree
	if _, err := zero.MarshalBinary(); !errors.Is(err, ErrConfig) {
		t.Errorf("MarshalBinary of a zero Tree = %v, want ErrConfig", err)
	}
}

// encodeRaw builds an encoding by hand for the rejection table.
func encodeRaw(version uint8, id suite.ID, n, maxFwd, maxRet uint32, nodes func(w *codec.Writer), leaves func(w *codec.Writer)) []byte {
	w := codec.NewWriter(nil)
	w.Uint8(version)
	w.Uint16(uint16(id))
	w.Uint32(n)
	w.Uint32(maxFwd)
	w.Uint32(maxRet)
	w.Vector(nodes)
	w.Vector(leaves)
	return w.Bytes()
}

func TestUnmarshalRejects(t *testing.T) {
	s1 := suite.X25519AES128GCMSHA256Ed25519
	secret := make([]byte, 32)
	node := func(xs ...uint32) func(w *codec.Writer) {
		return func(w *codec.Writer) {
			for _, x := range xs {
				w.Uint32(x)
				w.Opaque(secret)
			}
		}
	}
	none := func(w *codec.Writer) {}
	ratchet := func(w *codec.Writer, next uint64, sec []byte, retained ...uint32) {
		w.Uint64(next)
		w.Opaque(sec)
		w.Vector(func(w *codec.Writer) {
			for _, g := range retained {
				w.Uint32(g)
				w.Opaque(make([]byte, 16))
				w.Opaque(make([]byte, 12))
			}
		})
	}
	leaf := func(i uint32, next uint64, sec []byte, retained ...uint32) func(w *codec.Writer) {
		return func(w *codec.Writer) {
			w.Uint32(i)
			ratchet(w, next, sec, retained...)
			ratchet(w, 0, secret)
		}
	}
	good := encodeRaw(1, s1, 2, 10, 4, node(2), leaf(0, 3, secret, 1, 2))
	var ok Tree
	if err := ok.UnmarshalBinary(good); err != nil {
		t.Fatalf("hand-built valid encoding rejected: %v", err)
	}
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrFormat},
		{"truncated", good[:len(good)-1], ErrFormat},
		{"trailing", append(bytes.Clone(good), 0), ErrFormat},
		{"version", encodeRaw(2, s1, 2, 10, 4, node(2), leaf(0, 3, secret)), ErrFormat},
		{"suite", encodeRaw(1, 0x99, 2, 10, 4, node(2), leaf(0, 3, secret)), suite.ErrUnsupported},
		{"zero leaves", encodeRaw(1, s1, 0, 10, 4, node(0), none), ErrFormat},
		{"too many leaves", encodeRaw(1, s1, MaxLeaves+1, 10, 4, none, none), ErrFormat},
		{"retained limit", encodeRaw(1, s1, 1, 10, MaxRetainedLimit+1, node(0), none), ErrFormat},
		{"nothing stored", encodeRaw(1, s1, 2, 10, 4, none, none), ErrFormat},
		{"root and child", encodeRaw(1, s1, 2, 10, 4, node(1, 2), leaf(0, 0, secret)), ErrFormat},
		{"node outside", encodeRaw(1, s1, 2, 10, 4, node(2, 3), leaf(0, 0, secret)), ErrFormat},
		{"unsorted nodes", encodeRaw(1, s1, 4, 10, 4, node(5, 1), none), ErrFormat},
		{"duplicate node", encodeRaw(1, s1, 4, 10, 4, node(1, 1, 5), none), ErrFormat},
		{"leaf under stored node", encodeRaw(1, s1, 2, 10, 4, node(1), leaf(0, 0, secret)), ErrFormat},
		{"leaf out of range", encodeRaw(1, s1, 2, 10, 4, node(0), leaf(2, 0, secret)), ErrFormat},
		{"short ratchet secret", encodeRaw(1, s1, 2, 10, 4, node(2), leaf(0, 0, secret[1:])), ErrFormat},
		{"exhausted with secret", encodeRaw(1, s1, 2, 10, 4, node(2), leaf(0, exhausted, secret)), ErrFormat},
		{"beyond exhausted", encodeRaw(1, s1, 2, 10, 4, node(2), leaf(0, exhausted+1, nil)), ErrFormat},
		{"retained not past", encodeRaw(1, s1, 2, 10, 4, node(2), leaf(0, 3, secret, 3)), ErrFormat},
		{"retained unsorted", encodeRaw(1, s1, 2, 10, 4, node(2), leaf(0, 3, secret, 2, 1)), ErrFormat},
		{"too many retained", encodeRaw(1, s1, 2, 10, 1, node(2), leaf(0, 3, secret, 1, 2)), ErrFormat},
		{"short node secret", encodeRaw(1, s1, 1, 10, 4, func(w *codec.Writer) { w.Uint32(0); w.Opaque([]byte{1}) }, none), ErrFormat},
	}
	for _, tc := range tests {
		tr := newTree(t, 3, DefaultConfig())
		before := mustMarshal(t, tr)
		err := tr.UnmarshalBinary(tc.data)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: UnmarshalBinary = %v, want %v", tc.name, err, tc.want)
		}
		if !bytes.Equal(before, mustMarshal(t, tr)) {
			t.Errorf("%s: failed UnmarshalBinary changed the tree", tc.name)
		}
	}
}

func FuzzUnmarshalBinary(f *testing.F) {
	for _, b := range sampleStates(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var tr Tree
		if err := tr.UnmarshalBinary(data); err != nil {
			return
		}
		again, err := tr.MarshalBinary()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("accepted input does not re-encode identically")
		}
		// A decoded tree must be usable without panicking.
		for leaf := range min(tr.LeafCount(), 4) {
			tr.Peek(leaf, Application, 0)
			tr.KeyNonce(leaf, Handshake, 1)
			tr.Next(leaf, Application)
		}
	})
}

func FuzzUnmarshalParts(f *testing.F) {
	tr := newTree(f, 4, Config{MaxForward: 8, MaxRetained: 2})
	for _, leaf := range []uint32{1, 2} {
		if err := tr.Consume(leaf, Handshake, leaf*3); err != nil {
			f.Fatal(err)
		}
	}
	header, err := tr.MarshalHeader()
	if err != nil {
		f.Fatal(err)
	}
	r1, _ := tr.MarshalLeaf(1)
	r2, _ := tr.MarshalLeaf(2)
	f.Add(header, r1, r2)
	f.Add(header, r2, r1)
	f.Fuzz(func(t *testing.T, header, a, b []byte) {
		var tr Tree
		if err := tr.UnmarshalParts(header, [][]byte{a, b}); err != nil {
			return
		}
		full, err := tr.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var again Tree
		if err := again.UnmarshalBinary(full); err != nil {
			t.Fatalf("parts accepted but their full encoding rejected: %v", err)
		}
		h, _ := tr.MarshalHeader()
		if !bytes.Equal(h, header) {
			t.Fatal("accepted header does not re-encode identically")
		}
	})
}
