package codec

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
)

func TestDeserializationVectors(t *testing.T) {
	var cases []struct {
		Header vectors.Hex `json:"vlbytes_header"`
		Length int         `json:"length"`
	}
	if err := vectors.Load("deserialization", &cases); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		r := NewReader(c.Header)
		got := r.Varint()
		if err := r.Finish(); err != nil {
			t.Errorf("case %d: %v", i, err)
			continue
		}
		if got != c.Length {
			t.Errorf("case %d: got %d want %d", i, got, c.Length)
		}
		var w Writer
		w.Varint(got)
		if !bytes.Equal(w.Bytes(), c.Header) {
			t.Errorf("case %d: re-encode %x want %x", i, w.Bytes(), []byte(c.Header))
		}
	}
}

func TestVarintRejects(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want error
	}{
		{[]byte{0x40, 0x25}, ErrNonMinimal},
		{[]byte{0x80, 0x00, 0x00, 0x25}, ErrNonMinimal},
		{[]byte{0xc0, 0, 0, 0, 0, 0, 0, 1}, ErrInvalidHeader},
		{[]byte{0x40}, ErrShort},
	} {
		r := NewReader(tc.in)
		r.Varint()
		if !errors.Is(r.Err(), tc.want) {
			t.Errorf("%x: got %v want %v", tc.in, r.Err(), tc.want)
		}
	}
}

func TestOpaqueRoundTripAndLimits(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 16383, 16384, 100000} {
		b := bytes.Repeat([]byte{7}, n)
		var w Writer
		w.Opaque(b)
		r := NewReader(w.Bytes())
		got := r.Opaque()
		if err := r.Finish(); err != nil || !bytes.Equal(got, b) {
			t.Fatalf("n=%d: err %v, equal %v", n, err, bytes.Equal(got, b))
		}
	}
	r := NewReader([]byte{0x05, 1, 2})
	r.Opaque()
	if !errors.Is(r.Err(), ErrShort) {
		t.Errorf("oversized length: got %v", r.Err())
	}
	r = NewReader([]byte{0x01, 1, 9})
	r.Opaque()
	if !errors.Is(r.Finish(), ErrTrailing) {
		t.Errorf("trailing: got %v", r.Finish())
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte{0x40, 0x25})
	f.Add([]byte{0x03, 1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(b)
		v := r.Opaque()
		if r.Err() == nil {
			var w Writer
			w.Opaque(v)
			if !bytes.Equal(w.Bytes(), b[:len(b)-r.Remaining()]) {
				t.Fatalf("re-encode mismatch")
			}
		}
	})
}
