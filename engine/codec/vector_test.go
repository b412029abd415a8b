package codec

import (
	"bytes"
	"testing"
)

// TestVectorInPlace checks that Vector, which encodes its body in place and
// widens the header afterwards, produces exactly the bytes of Opaque over a
// separately encoded body, at every header-size boundary and when nested.
func TestVectorInPlace(t *testing.T) {
	for _, n := range []int{0, 1, 62, 63, 64, 65, 16382, 16383, 16384, 70000} {
		body := make([]byte, n)
		for i := range body {
			body[i] = byte(i * 7)
		}
		t.Run("flat", func(t *testing.T) {
			w := NewWriter([]byte{0xaa})
			w.Vector(func(w *Writer) { w.Raw(body) })
			w.Uint8(0xbb)
			want := NewWriter([]byte{0xaa})
			want.Opaque(body)
			want.Uint8(0xbb)
			if got := w.Bytes(); !bytes.Equal(got, want.Bytes()) {
				t.Errorf("n=%d: got %d bytes %x…, want %d bytes %x…", n, len(got), got[:min(8, len(got))], want.Len(), want.Bytes()[:min(8, want.Len())])
			}
		})
		t.Run("nested", func(t *testing.T) {
			var w Writer
			w.Vector(func(w *Writer) {
				w.Uint16(0x0102)
				w.Vector(func(w *Writer) { w.Raw(body) })
				w.Vector(func(w *Writer) { w.Opaque(body[:n/2]) })
			})
			var inner1, inner2 Writer
			inner1.Opaque(body)
			inner2.Opaque(body[:n/2])
			var outer Writer
			outer.Opaque(body[:n/2])
			var mid Writer
			mid.Uint16(0x0102)
			mid.Raw(inner1.Bytes())
			mid.Opaque(outer.Bytes())
			var want Writer
			want.Opaque(mid.Bytes())
			if !bytes.Equal(w.Bytes(), want.Bytes()) {
				t.Errorf("n=%d: nested encoding differs (%d vs %d bytes)", n, w.Len(), want.Len())
			}
			r := NewReader(w.Bytes())
			var got []byte
			r.Vector(func(r *Reader) {
				r.Uint16()
				got = r.Opaque()
				r.Opaque()
			})
			if err := r.Finish(); err != nil || !bytes.Equal(got, body) {
				t.Errorf("n=%d: decode: err %v, equal %v", n, err, bytes.Equal(got, body))
			}
		})
	}
}

func BenchmarkVectorNested(b *testing.B) {
	leaf := bytes.Repeat([]byte{1}, 32)
	b.ReportAllocs()
	for b.Loop() {
		var w Writer
		w.Vector(func(w *Writer) {
			for range 1000 {
				w.Vector(func(w *Writer) {
					w.Opaque(leaf)
					w.Vector(func(w *Writer) { w.Opaque(leaf); w.Opaque(leaf) })
				})
			}
		})
	}
}
