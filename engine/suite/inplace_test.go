package suite

import (
	"bytes"
	"errors"
	"testing"
)

// TestVerifyWithLabelInPlace checks that verifying in place accepts and
// refuses exactly what VerifyWithLabel does, for contents whose length
// prefix takes 1, 2 and 4 bytes, and refuses a buffer without its room.
func TestVerifyWithLabelInPlace(t *testing.T) {
	const label = "FramedContentTBS"
	room := SignContentRoom(label)
	for _, s := range mustSuites(t) {
		priv, pub, err := s.GenerateSignatureKey()
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{0, 63, 64, 16383, 16384, 100000} {
			content := bytes.Repeat([]byte{byte(n)}, n)
			sig, err := s.SignWithLabel(priv, label, content)
			if err != nil {
				t.Fatal(err)
			}
			buf := append(bytes.Repeat([]byte{0xee}, room), content...)
			if err := s.VerifyWithLabelInPlace(pub, label, buf, sig); err != nil {
				t.Fatalf("%v, %d bytes: %v", s, n, err)
			}
			if !bytes.Equal(buf[room:], content) {
				t.Fatalf("%v, %d bytes: the content changed", s, n)
			}
			other := append(bytes.Repeat([]byte{0xee}, room), content...)
			other = append(other, 0)
			if err := s.VerifyWithLabelInPlace(pub, label, other, sig); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("%v, %d bytes: longer content: got %v, want ErrBadSignature", s, n, err)
			}
			if err := s.VerifyWithLabelInPlace(pub, "LeafNodeTBS", append(bytes.Repeat([]byte{0xee}, SignContentRoom("LeafNodeTBS")), content...), sig); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("%v, %d bytes: other label: got %v, want ErrBadSignature", s, n, err)
			}
		}
		if err := s.VerifyWithLabelInPlace(pub, label, make([]byte, room-1), nil); err == nil {
			t.Fatalf("%v: a buffer shorter than its room was accepted", s)
		}
	}
}

// TestMACParts checks that MAC over parts is MAC over their concatenation.
func TestMACParts(t *testing.T) {
	for _, s := range mustSuites(t) {
		key := bytes.Repeat([]byte{1}, s.Nh())
		a, b, c := []byte("version and wire format"), bytes.Repeat([]byte{2}, 5000), []byte("auth")
		want := s.MAC(key, append(append(append([]byte(nil), a...), b...), c...))
		if got := s.MAC(key, a, nil, b, c); !bytes.Equal(got, want) {
			t.Fatalf("%v: MAC of parts %x, of the whole %x", s, got, want)
		}
	}
}
