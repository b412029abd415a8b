package codec

import (
	"bytes"
	"testing"
)

// pair is a small Marshaler for the tests of Append and MarshalSize.
type pair struct {
	a uint16
	b []byte
}

func (p pair) MarshalTLS(w *Writer) {
	w.Uint16(p.a)
	w.Opaque(p.b)
}

func TestVarintAndOpaqueLen(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 16383, 16384, 100000, MaxVarint} {
		var w Writer
		w.Varint(n)
		if got, want := VarintLen(n), w.Len(); got != want {
			t.Errorf("VarintLen(%d) = %d, want %d", n, got, want)
		}
	}
	for _, n := range []int{0, 5, 63, 64, 300, 20000} {
		b := make([]byte, n)
		var w Writer
		w.Opaque(b)
		if got, want := OpaqueLen(b), w.Len(); got != want {
			t.Errorf("OpaqueLen(%d bytes) = %d, want %d", n, got, want)
		}
	}
}

func TestAppendAndMarshalSize(t *testing.T) {
	p := pair{a: 0x0102, b: []byte("xyz")}
	want := []byte{1, 2, 3, 'x', 'y', 'z'}
	if got := Append([]byte("pre"), p); !bytes.Equal(got, append([]byte("pre"), want...)) {
		t.Errorf("Append = %x, want prefix then %x", got, want)
	}
	for _, size := range []int{0, 2, 6, 100} {
		got := MarshalSize(p, size)
		if !bytes.Equal(got, want) {
			t.Errorf("MarshalSize(%d) = %x, want %x", size, got, want)
		}
		if size >= len(want) && cap(got) != size {
			t.Errorf("MarshalSize(%d): capacity %d, want %d", size, cap(got), size)
		}
	}
}

func TestZeros(t *testing.T) {
	for _, n := range []int{-3, 0, 1, 40} {
		w := NewWriter([]byte{7})
		w.Zeros(n)
		want := append([]byte{7}, make([]byte, max(n, 0))...)
		if got := w.Bytes(); !bytes.Equal(got, want) {
			t.Errorf("Zeros(%d) = %x, want %x", n, got, want)
		}
	}
}

func TestReaderReset(t *testing.T) {
	var r Reader
	r.Reset([]byte{1})
	if got := r.Uint16(); got != 0 || r.Err() == nil {
		t.Fatalf("Uint16 of 1 byte = %d, %v; want an error", got, r.Err())
	}
	r.Reset([]byte{0, 5})
	if got := r.Uint16(); got != 5 || r.Finish() != nil {
		t.Errorf("after Reset: Uint16 = %d, Finish = %v; want 5, nil", got, r.Finish())
	}
}

func TestNested(t *testing.T) {
	w := NewWriter([]byte{9})
	w.Nested(pair{a: 3, b: []byte{4}})
	w.Uint8(5)
	if got, want := w.Bytes(), []byte{9, 0, 3, 1, 4, 5}; !bytes.Equal(got, want) {
		t.Errorf("Nested = %x, want %x", got, want)
	}
}
