package retain

import (
	"sync"
	"testing"
)

type inner struct {
	mu  *sync.Mutex
	raw []byte
	arr [4]byte
}

type outer struct {
	m    map[string]any
	list []*inner
	self *outer
}

// TestFind checks that Find reaches secrets through unexported fields,
// maps, interfaces, slices of pointers and byte arrays, survives cycles,
// and reports nothing when the secret is not there.
func TestFind(t *testing.T) {
	secret := []byte("secret-key")
	for _, c := range []struct {
		name string
		root func() any
		want string
	}{
		{"absent", func() any { return &outer{m: map[string]any{"a": &inner{raw: []byte("other")}}} }, ""},
		{"map value", func() any { return &outer{m: map[string]any{"a": &inner{raw: append([]byte("x"), secret...)}}} }, "root.m[a].raw"},
		{"slice of pointers", func() any { return outer{list: []*inner{{mu: new(sync.Mutex)}, {raw: secret}}} }, "root.list[1].raw"},
		{"byte array", func() any { return &inner{arr: [4]byte{'k', 'e', 'y', '!'}} }, "root.arr"},
		{"cycle", func() any { o := &outer{}; o.self = o; return o }, ""},
	} {
		secrets := [][]byte{secret}
		if c.name == "byte array" {
			secrets = [][]byte{[]byte("key!")}
		}
		if got := Find(c.root(), secrets...); got != c.want {
			t.Errorf("%s: Find = %q, want %q", c.name, got, c.want)
		}
	}
}
