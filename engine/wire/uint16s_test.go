package wire

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
)

// readUint16sByElement is the element-by-element reading that
// readUint16s replaces, kept as its reference.
func readUint16sByElement(r *codec.Reader) []uint16 {
	out := []uint16{}
	r.Vector(func(r *codec.Reader) { out = append(out, r.Uint16()) })
	if r.Err() != nil {
		return nil
	}
	return out
}

// TestReadUint16sMatchesVector compares readUint16s with reading element
// by element on random well-formed and malformed encodings: same values,
// same bytes consumed, and failures of the same kind.
func TestReadUint16sMatchesVector(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		n := rng.IntN(40)
		body := make([]byte, n)
		for j := range body {
			body[j] = byte(rng.Uint32())
		}
		var w codec.Writer
		w.Opaque(body)
		enc := append(w.Bytes(), 0xaa)
		if i%5 == 0 {
			enc = enc[:rng.IntN(len(enc))] // cut anywhere, header included
		}
		r1, r2 := codec.NewReader(enc), codec.NewReader(enc)
		got, want := readUint16s[uint16](r1), readUint16sByElement(r2)
		if !slices.Equal(got, want) || (got == nil) != (want == nil) {
			t.Fatalf("case %d: got %v, want %v", i, got, want)
		}
		e1, e2 := r1.Err(), r2.Err()
		if (e1 == nil) != (e2 == nil) || (e1 != nil && !errors.Is(e1, codec.ErrShort) != !errors.Is(e2, codec.ErrShort)) {
			t.Fatalf("case %d: error %v, want %v", i, e1, e2)
		}
		if e1 == nil && r1.Remaining() != r2.Remaining() {
			t.Fatalf("case %d: %d bytes left, want %d", i, r1.Remaining(), r2.Remaining())
		}
	}
}
