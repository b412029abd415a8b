package codec

import (
	"bytes"
	"testing"
)

// TestReaderSince checks that Since returns exactly the bytes read since an
// offset, aliasing the input, and nothing after an error.
func TestReaderSince(t *testing.T) {
	var w Writer
	w.Uint16(7)
	w.Opaque([]byte("content"))
	w.Uint8(1)
	in := w.Bytes()

	r := NewReader(in)
	r.Uint16()
	start := r.Offset()
	if start != 2 {
		t.Fatalf("Offset = %d, want 2", start)
	}
	r.Opaque()
	got := r.Since(start)
	if want := in[2 : 2+OpaqueLen([]byte("content"))]; !bytes.Equal(got, want) {
		t.Fatalf("Since = %x, want %x", got, want)
	}
	if &got[0] != &in[2] {
		t.Error("Since copied the input instead of aliasing it")
	}
	if cap(got) != len(got) {
		t.Errorf("Since has capacity %d beyond its %d bytes: an append would overwrite the input", cap(got), len(got))
	}
	if r.Since(r.Offset()+1) != nil || r.Since(-1) != nil {
		t.Error("Since accepted an offset outside what was read")
	}
	r.Raw(5) // past the end
	if r.Since(start) != nil {
		t.Error("Since returned bytes after an error")
	}
}
