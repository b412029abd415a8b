package suite

import (
	"errors"
	"testing"
)

func TestRegistry(t *testing.T) {
	r := NewRegistry()
	a, err := r.Get(X25519AES128GCMSHA256Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Get(X25519AES128GCMSHA256Ed25519)
	if err != nil || a != b {
		t.Fatalf("second Get = %p, %v; want the same Suite %p", b, err, a)
	}
	c, err := r.Get(P256AES128GCMSHA256P256)
	if err != nil || c == a || c.ID() != P256AES128GCMSHA256P256 {
		t.Fatalf("Get(P256) = %v, %v", c, err)
	}
	var none *Registry
	d, err := none.Get(X25519AES128GCMSHA256Ed25519)
	if err != nil || d == a {
		t.Fatalf("nil registry Get = %p, %v; want a new Suite", d, err)
	}
	if _, err := r.Get(ID(0xfefe)); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Get(unknown) = %v, want ErrUnsupported", err)
	}
}
