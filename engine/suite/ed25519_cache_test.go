package suite

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestKeyTableCache(t *testing.T) {
	c := newKeyTableCache(3, 2, 4)
	key := func(i int) *[32]byte { return &[32]byte{byte(i)} }
	tab := &fixedTable{}
	// Sightings 1 and 2 count, the third asks for a table, the fourth
	// (while it is built) does not.
	for i, want := range []bool{false, false, true, false} {
		if got, build := c.lookup(key(1)); got != nil || build != want {
			t.Fatalf("sighting %d: table %v build %v, want nil %v", i+1, got, build, want)
		}
	}
	// Only one build at a time: key 2's third sighting waits for it.
	for i := range 3 {
		if _, build := c.lookup(key(2)); build {
			t.Fatalf("key 2 sighting %d: build while key 1 builds", i+1)
		}
	}
	c.insert(key(1), tab)
	if got, build := c.lookup(key(1)); got != tab || build {
		t.Fatalf("after insert: table %p build %v, want %p false", got, build, tab)
	}
	if _, build := c.lookup(key(2)); !build {
		t.Fatal("key 2: no build after key 1's ended")
	}
	c.abandon(key(2))
	for i := range 3 {
		if _, build := c.lookup(key(2)); build {
			t.Fatalf("abandoned key 2, sighting %d: build again", i+1)
		}
	}
	for i := range 3 {
		if _, build := c.lookup(key(4)); build != (i == 2) {
			t.Fatalf("key 4 sighting %d after an abandoned build: build %v", i+1, build)
		}
	}
	c.insert(key(4), &fixedTable{})
	// A third table evicts key 1, the least recently used.
	c.insert(key(3), &fixedTable{})
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

// TestEd25519VerifyBuildsTable checks that a key verified keyTableBuildAt
// times gets a table, in the background, and an undecodable one none.
func TestEd25519VerifyBuildsTable(t *testing.T) {
	v := newEd25519Verifier()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("m")
	sig := ed25519.Sign(priv, msg)
	for i := range keyTableBuildAt {
		if !v.verify(pub, msg, sig) {
			t.Fatalf("sighting %d rejected", i+1)
		}
	}
	v.builds.Wait()
	if n, _ := v.keys.len(); n != 1 {
		t.Fatalf("tables = %d, want 1", n)
	}
	if !v.verify(pub, msg, sig) {
		t.Fatal("rejected with the table")
	}
	bad := make([]byte, 32)
	bad[0] = 2 // y = 2 is not on the curve
	for range keyTableBuildAt + 1 {
		if v.verify(bad, msg, sig) {
			t.Fatal("accepted an undecodable key")
		}
	}
	v.builds.Wait()
	if n, _ := v.keys.len(); n != 1 {
		t.Fatalf("tables = %d after an undecodable key, want 1", n)
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
	v.builds.Wait()
	if n, _ := v.keys.len(); n == 0 || n > 3 {
		t.Fatalf("tables = %d, want 1 to 3", n)
	}
}

// TestVerifyWithLabelColdLabels checks that only message signatures
// (FramedContentTBS) count towards a key's table: leaf nodes, KeyPackages
// and GroupInfos verified again and again by one key build nothing, and a
// bad signature is still rejected on the cold path.
func TestVerifyWithLabelColdLabels(t *testing.T) {
	s, err := New(X25519AES128GCMSHA256Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	v := s.sig.(ed25519Signer).ver
	priv, pub, err := s.GenerateSignatureKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, label := range []string{"LeafNodeTBS", "KeyPackageTBS", "GroupInfoTBS"} {
		sig, err := s.SignWithLabel(priv, label, []byte("content"))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 * keyTableBuildAt {
			if err := s.VerifyWithLabel(pub, label, []byte("content"), sig); err != nil {
				t.Fatalf("%s, verification %d: %v", label, i+1, err)
			}
		}
		if err := s.VerifyWithLabel(pub, label, []byte("other"), sig); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("%s over other content: %v, want ErrBadSignature", label, err)
		}
	}
	v.builds.Wait()
	if n, seen := v.keys.len(); n != 0 || seen != 0 {
		t.Fatalf("cold labels left %d tables and %d sightings, want none", n, seen)
	}
	sig, err := s.SignWithLabel(priv, hotLabel, []byte("content"))
	if err != nil {
		t.Fatal(err)
	}
	for range keyTableBuildAt {
		if err := s.VerifyWithLabel(pub, hotLabel, []byte("content"), sig); err != nil {
			t.Fatal(err)
		}
	}
	v.builds.Wait()
	if n, _ := v.keys.len(); n != 1 {
		t.Fatalf("message signatures built %d tables, want 1", n)
	}
}
