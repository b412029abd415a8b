package suite

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
)

func TestKeyTableCache(t *testing.T) {
	c := newKeyTableCache(3, 2, 4)
	key := func(i int) *[32]byte { return &[32]byte{byte(i)} }
	tab := &fixedTable{}
	// Sightings 1 and 2 count, the third asks for a table.
	for i, want := range []bool{false, false, true} {
		if got, build := c.lookup(key(1)); got != nil || build != want {
			t.Fatalf("sighting %d: table %v build %v, want nil %v", i+1, got, build, want)
		}
	}
	c.insert(key(1), tab)
	if got, build := c.lookup(key(1)); got != tab || build {
		t.Fatalf("after insert: table %p build %v, want %p false", got, build, tab)
	}
	// Two more tables evict key 1, the least recently used.
	for _, k := range []int{2, 3} {
		c.insert(key(k), &fixedTable{})
	}
	if n, _ := c.len(); n != 2 {
		t.Fatalf("tables = %d, want 2", n)
	}
	if got, _ := c.lookup(key(1)); got != nil {
		t.Fatal("key 1 not evicted")
	}
	// The counts stay bounded: 2·maxSeen.
	for i := 10; i < 100; i++ {
		c.lookup(key(i))
	}
	if _, seen := c.len(); seen > 8 {
		t.Fatalf("seen = %d, want at most 8", seen)
	}
}

// TestEd25519VerifyConcurrent verifies valid and invalid signatures of more
// keys than the cache holds from several goroutines (run with -race).
func TestEd25519VerifyConcurrent(t *testing.T) {
	v := newEd25519Verifier()
	v.keys = newKeyTableCache(2, 3, 8)
	type signed struct{ pub, msg, sig, bad []byte }
	var cases []signed
	for i := range 6 {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		msg := []byte(fmt.Sprintf("message %d", i))
		sig := ed25519.Sign(priv, msg)
		bad := append([]byte(nil), sig...)
		bad[3] ^= 0x10
		cases = append(cases, signed{pub, msg, sig, bad})
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				c := cases[(g+i)%len(cases)]
				if !v.verify(c.pub, c.msg, c.sig) {
					t.Errorf("goroutine %d: valid signature rejected", g)
					return
				}
				if v.verify(c.pub, c.msg, c.bad) {
					t.Errorf("goroutine %d: bad signature accepted", g)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n, _ := v.keys.len(); n == 0 || n > 3 {
		t.Fatalf("tables = %d, want 1 to 3", n)
	}
}
