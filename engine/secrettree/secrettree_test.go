package secrettree

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/suite"
)

func testSuite(t testing.TB) *suite.Suite {
	t.Helper()
	s, err := suite.New(suite.X25519AES128GCMSHA256Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newTree(t testing.TB, n uint32, cfg Config) *Tree {
	t.Helper()
	s := testSuite(t)
	tr, err := New(s, bytes.Repeat([]byte{0x5a}, s.Nh()), n, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func mustMarshal(t testing.TB, tr *Tree) []byte {
	t.Helper()
	b, err := tr.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type sent struct {
	gen        uint32
	key, nonce []byte
}

// send returns count messages' keys from a sender tree for leaf and ct.
func send(t testing.TB, tr *Tree, leaf uint32, ct ContentType, count int) []sent {
	t.Helper()
	out := make([]sent, count)
	for i := range out {
		g, k, n, err := tr.Next(leaf, ct)
		if err != nil {
			t.Fatal(err)
		}
		if g != uint32(i) {
			t.Fatalf("Next gave generation %d, want %d", g, i)
		}
		out[i] = sent{g, k, n}
	}
	return out
}

func TestNewValidation(t *testing.T) {
	s := testSuite(t)
	secret := make([]byte, s.Nh())
	tests := []struct {
		name   string
		secret []byte
		n      uint32
		cfg    Config
	}{
		{"zero leaves", secret, 0, DefaultConfig()},
		{"too many leaves", secret, MaxLeaves + 1, DefaultConfig()},
		{"short secret", secret[1:], 4, DefaultConfig()},
		{"negative retained", secret, 4, Config{MaxRetained: -1}},
		{"huge retained", secret, 4, Config{MaxRetained: MaxRetainedLimit + 1}},
	}
	for _, tc := range tests {
		if _, err := New(s, tc.secret, tc.n, tc.cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: New error = %v, want ErrConfig", tc.name, err)
		}
	}
}

func TestLeafRange(t *testing.T) {
	tr := newTree(t, 4, DefaultConfig())
	if _, _, err := tr.KeyNonce(4, Handshake, 0); !errors.Is(err, ErrLeafRange) {
		t.Errorf("KeyNonce(leaf 4 of 4) = %v, want ErrLeafRange", err)
	}
	if _, _, _, err := tr.Next(9, Application); !errors.Is(err, ErrLeafRange) {
		t.Errorf("Next(leaf 9 of 4) = %v, want ErrLeafRange", err)
	}
	if _, _, err := tr.Peek(0, ContentType(7), 0); err == nil {
		t.Error("Peek with an unknown content type succeeded")
	}
}

func TestSenderReceiverAgree(t *testing.T) {
	for _, n := range []uint32{1, 2, 5, 8, 33} {
		snd := newTree(t, n, DefaultConfig())
		rcv := newTree(t, n, DefaultConfig())
		for leaf := range n {
			for _, ct := range []ContentType{Handshake, Application} {
				for _, m := range send(t, snd, leaf, ct, 3) {
					k, nc, err := rcv.KeyNonce(leaf, ct, m.gen)
					if err != nil || !bytes.Equal(k, m.key) || !bytes.Equal(nc, m.nonce) {
						t.Fatalf("n=%d leaf %d %v gen %d: receiver key %x, %v; want %x", n, leaf, ct, m.gen, k, err, m.key)
					}
				}
			}
		}
		if len(rcv.nodes) != 0 || len(snd.nodes) != 0 {
			t.Errorf("n=%d: %d/%d node secrets left after every leaf derived, want 0", n, len(snd.nodes), len(rcv.nodes))
		}
	}
}

func TestDistinctKeys(t *testing.T) {
	tr := newTree(t, 8, DefaultConfig())
	seen := map[string]bool{}
	for leaf := range uint32(8) {
		for _, ct := range []ContentType{Handshake, Application} {
			for _, m := range send(t, tr, leaf, ct, 4) {
				if seen[string(m.key)] || seen[string(m.nonce)] {
					t.Fatalf("leaf %d %v gen %d: key or nonce repeats", leaf, ct, m.gen)
				}
				seen[string(m.key)], seen[string(m.nonce)] = true, true
			}
		}
	}
}

func TestConsumedKeyIsGone(t *testing.T) {
	tr := newTree(t, 2, DefaultConfig())
	if err := tr.Consume(1, Application, 0); err != nil {
		t.Fatal(err)
	}
	var ge *GenerationError
	_, _, err := tr.KeyNonce(1, Application, 0)
	if !errors.Is(err, ErrStale) || !errors.As(err, &ge) || ge.Leaf != 1 || ge.Generation != 0 || ge.Next != 1 {
		t.Errorf("second KeyNonce = %v, want *GenerationError{leaf 1, gen 0, next 1} wrapping ErrStale", err)
	}
	if _, _, err := tr.Peek(1, Application, 0); !errors.Is(err, ErrStale) {
		t.Errorf("Peek of consumed key = %v, want ErrStale", err)
	}
	// The other ratchet of the leaf is independent.
	if _, _, err := tr.KeyNonce(1, Handshake, 0); err != nil {
		t.Errorf("handshake gen 0 after application gen 0: %v", err)
	}
}

func TestPeekChangesNothing(t *testing.T) {
	tr := newTree(t, 16, Config{MaxForward: 50, MaxRetained: 5})
	if err := tr.Consume(3, Application, 10); err != nil {
		t.Fatal(err)
	}
	before := mustMarshal(t, tr)
	for _, g := range []uint32{7, 9, 11, 40, 60, 0} {
		tr.Peek(3, Application, g)
		tr.Peek(12, Handshake, g)
	}
	if !bytes.Equal(before, mustMarshal(t, tr)) {
		t.Error("Peek changed the tree")
	}
	k1, n1, err := tr.Peek(3, Application, 20)
	if err != nil {
		t.Fatal(err)
	}
	k2, n2, err := tr.KeyNonce(3, Application, 20)
	if err != nil || !bytes.Equal(k1, k2) || !bytes.Equal(n1, n2) {
		t.Errorf("KeyNonce after Peek = %x, %v; want %x", k2, err, k1)
	}
}

func TestErrorsLeaveTreeUnchanged(t *testing.T) {
	cfg := Config{MaxForward: 10, MaxRetained: 3}
	tr := newTree(t, 4, cfg)
	if err := tr.Consume(2, Handshake, 5); err != nil {
		t.Fatal(err)
	}
	before := mustMarshal(t, tr)
	tests := []struct {
		leaf uint32
		gen  uint32
		want error
	}{
		{2, 17, ErrTooFarAhead}, // next is 6
		{2, 5, ErrStale},        // consumed
		{2, 1, ErrStale},        // skipped but not retained (only 2,3,4 are)
		{0, 11, ErrTooFarAhead}, // fresh leaf: next is 0
		{1, 1 << 31, ErrTooFarAhead},
	}
	for _, tc := range tests {
		_, _, err := tr.KeyNonce(tc.leaf, Handshake, tc.gen)
		var ge *GenerationError
		if !errors.Is(err, tc.want) || !errors.As(err, &ge) {
			t.Errorf("KeyNonce(leaf %d, gen %d) = %v, want *GenerationError wrapping %v", tc.leaf, tc.gen, err, tc.want)
		}
		if _, _, err := tr.Peek(tc.leaf, Handshake, tc.gen); !errors.Is(err, tc.want) {
			t.Errorf("Peek(leaf %d, gen %d) = %v, want %v", tc.leaf, tc.gen, err, tc.want)
		}
	}
	if !bytes.Equal(before, mustMarshal(t, tr)) {
		t.Error("rejected requests changed the tree")
	}
	for _, g := range []uint32{2, 3, 4, 16} {
		if err := tr.Consume(2, Handshake, g); err != nil {
			t.Errorf("Consume(gen %d) within bounds: %v", g, err)
		}
	}
}

// TestOutOfOrderWithinBounds is a property test: messages shuffled within
// windows no larger than the bounds all decrypt, with the sender's keys.
func TestOutOfOrderWithinBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 20 {
		cfg := Config{MaxForward: uint32(1 + rng.IntN(40)), MaxRetained: 1 + rng.IntN(40)}
		window := min(int(cfg.MaxForward)+1, cfg.MaxRetained+1)
		const count = 300
		snd := newTree(t, 4, cfg)
		rcv := newTree(t, 4, cfg)
		msgs := send(t, snd, 3, Application, count)
		for start := 0; start < count; start += window {
			block := msgs[start:min(start+window, count)]
			rng.Shuffle(len(block), func(i, j int) { block[i], block[j] = block[j], block[i] })
		}
		for _, m := range msgs {
			if _, _, err := rcv.Peek(3, Application, m.gen); err != nil {
				t.Fatalf("trial %d cfg %+v: Peek gen %d: %v", trial, cfg, m.gen, err)
			}
			k, n, err := rcv.KeyNonce(3, Application, m.gen)
			if err != nil || !bytes.Equal(k, m.key) || !bytes.Equal(n, m.nonce) {
				t.Fatalf("trial %d cfg %+v: gen %d = %x, %v; want %x", trial, cfg, m.gen, k, err, m.key)
			}
		}
		if r := rcv.leaf(3).r[Application]; len(r.retained) != 0 {
			t.Errorf("trial %d: %d keys retained after every message arrived", trial, len(r.retained))
		}
	}
}

// model is a reference implementation of the bounds: which generations a
// receiver can still decrypt.
type model struct {
	next     uint64
	retained []uint32 // ascending
	cfg      Config
}

func (m *model) request(g uint32) error {
	if uint64(g) < m.next {
		for i, r := range m.retained {
			if r == g {
				m.retained = append(m.retained[:i], m.retained[i+1:]...)
				return nil
			}
		}
		return ErrStale
	}
	if uint64(g)-m.next > uint64(m.cfg.MaxForward) {
		return ErrTooFarAhead
	}
	for x := m.next; x < uint64(g); x++ {
		m.retained = append(m.retained, uint32(x))
	}
	if extra := len(m.retained) - m.cfg.MaxRetained; extra > 0 {
		m.retained = m.retained[extra:]
	}
	m.next = uint64(g) + 1
	return nil
}

// TestRandomRequestsMatchModel is a property test: random generation
// requests (in order, late, repeated, too far ahead) succeed or fail
// exactly as the reference model says, successes yield the sender's keys,
// and every state survives a MarshalBinary/UnmarshalBinary round trip.
func TestRandomRequestsMatchModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 30 {
		cfg := Config{MaxForward: uint32(rng.IntN(30)), MaxRetained: rng.IntN(12)}
		snd := newTree(t, 2, cfg)
		msgs := send(t, snd, 0, Handshake, 2000)
		rcv := newTree(t, 2, cfg)
		m := &model{cfg: cfg}
		for step := range 300 {
			g := uint32(min(len(msgs)-1, max(0, int(m.next)+rng.IntN(50)-25)))
			want := m.request(g)
			k, n, err := rcv.KeyNonce(0, Handshake, g)
			switch {
			case want == nil && err != nil:
				t.Fatalf("trial %d step %d cfg %+v gen %d: %v, model says ok", trial, step, cfg, g, err)
			case want == nil && (!bytes.Equal(k, msgs[g].key) || !bytes.Equal(n, msgs[g].nonce)):
				t.Fatalf("trial %d step %d gen %d: wrong key", trial, step, g)
			case want != nil && !errors.Is(err, want):
				t.Fatalf("trial %d step %d cfg %+v gen %d: %v, model says %v", trial, step, cfg, g, err, want)
			}
			if step%37 == 0 {
				var back Tree
				if err := back.UnmarshalBinary(mustMarshal(t, rcv)); err != nil {
					t.Fatalf("trial %d step %d: reload: %v", trial, step, err)
				}
				rcv = &back
			}
		}
	}
}

func TestAdvanceTo(t *testing.T) {
	snd := newTree(t, 2, DefaultConfig())
	ref := newTree(t, 2, DefaultConfig())
	msgs := send(t, ref, 1, Application, 12)
	if err := snd.AdvanceTo(1, Application, 10); err != nil {
		t.Fatal(err)
	}
	if err := snd.AdvanceTo(1, Application, 4); err != nil { // backwards: no-op
		t.Fatal(err)
	}
	g, k, _, err := snd.Next(1, Application)
	if err != nil || g != 10 || !bytes.Equal(k, msgs[10].key) {
		t.Errorf("Next after AdvanceTo(10) = gen %d, %v; want gen 10 with its key", g, err)
	}
	if gen, err := snd.Generation(1, Application); err != nil || gen != 11 {
		t.Errorf("Generation = %d, %v; want 11", gen, err)
	}
	if _, _, err := snd.KeyNonce(1, Application, 5); !errors.Is(err, ErrStale) {
		t.Errorf("KeyNonce of a skipped-by-AdvanceTo generation = %v, want ErrStale", err)
	}
	if gen, err := snd.Generation(0, Handshake); err != nil || gen != 0 {
		t.Errorf("Generation of an untouched leaf = %d, %v; want 0", gen, err)
	}
}

func TestExhaustion(t *testing.T) {
	tr := newTree(t, 1, DefaultConfig())
	if err := tr.AdvanceTo(0, Handshake, 1); err != nil {
		t.Fatal(err)
	}
	r := &tr.leaf(0).r[Handshake]
	r.next = exhausted - 2
	if err := tr.Consume(0, Handshake, exhausted-1); err != nil {
		t.Fatal(err)
	}
	if r.next != exhausted || r.secret != nil || len(r.retained) != 1 {
		t.Fatalf("after the last generation: next %d, secret %x, %d retained", r.next, r.secret, len(r.retained))
	}
	if _, _, _, err := tr.Next(0, Handshake); !errors.Is(err, ErrExhausted) {
		t.Errorf("Next on an exhausted ratchet = %v, want ErrExhausted", err)
	}
	var back Tree
	if err := back.UnmarshalBinary(mustMarshal(t, tr)); err != nil {
		t.Fatalf("round trip of an exhausted ratchet: %v", err)
	}
	if err := back.Consume(0, Handshake, exhausted-2); err != nil {
		t.Errorf("retained key before exhaustion: %v", err)
	}
}

func TestSetConfigTrims(t *testing.T) {
	tr := newTree(t, 2, Config{MaxForward: 100, MaxRetained: 50})
	if err := tr.Consume(0, Application, 40); err != nil {
		t.Fatal(err)
	}
	if err := tr.SetConfig(Config{MaxForward: 100, MaxRetained: 5}); err != nil {
		t.Fatal(err)
	}
	if got := len(tr.leaf(0).r[Application].retained); got != 5 {
		t.Errorf("retained after SetConfig = %d, want 5", got)
	}
	if err := tr.Consume(0, Application, 35); err != nil {
		t.Errorf("newest retained key: %v", err)
	}
	if err := tr.Consume(0, Application, 34); !errors.Is(err, ErrStale) {
		t.Errorf("trimmed key = %v, want ErrStale", err)
	}
	if err := tr.SetConfig(Config{MaxRetained: -3}); !errors.Is(err, ErrConfig) {
		t.Errorf("SetConfig(invalid) = %v, want ErrConfig", err)
	}
}

func TestCloneIndependent(t *testing.T) {
	tr := newTree(t, 8, DefaultConfig())
	if err := tr.Consume(5, Handshake, 3); err != nil {
		t.Fatal(err)
	}
	before := mustMarshal(t, tr)
	c := tr.Clone()
	if !bytes.Equal(before, mustMarshal(t, c)) {
		t.Fatal("clone encodes differently")
	}
	if err := c.Consume(5, Handshake, 1); err != nil {
		t.Fatal(err)
	}
	if err := c.Consume(2, Application, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, mustMarshal(t, tr)) {
		t.Error("changing the clone changed the original")
	}
}

func TestWipe(t *testing.T) {
	tr := newTree(t, 4, DefaultConfig())
	if err := tr.Consume(1, Handshake, 2); err != nil {
		t.Fatal(err)
	}
	r := &tr.leaf(1).r[Handshake]
	secret := r.secret
	tr.Wipe()
	if !bytes.Equal(secret, make([]byte, len(secret))) {
		t.Error("Wipe left a ratchet secret in memory")
	}
	if _, _, err := tr.KeyNonce(0, Handshake, 0); !errors.Is(err, ErrLeafRange) {
		t.Errorf("KeyNonce after Wipe = %v, want ErrLeafRange", err)
	}
}

func TestTreeMath(t *testing.T) {
	tests := []struct {
		n, root uint32
	}{{1, 0}, {2, 1}, {3, 3}, {4, 3}, {5, 7}, {8, 7}, {9, 15}, {32, 31}, {MaxLeaves, 1<<31 - 1}}
	for _, tc := range tests {
		if got := root(tc.n); got != tc.root {
			t.Errorf("root(%d) = %d, want %d", tc.n, got, tc.root)
		}
	}
	if l, r := left(7), right(7); l != 3 || r != 11 {
		t.Errorf("children of 7 = %d, %d; want 3, 11", l, r)
	}
	if got := path(8, 10); len(got) != 4 || got[0] != 7 || got[1] != 11 || got[2] != 9 || got[3] != 10 {
		t.Errorf("path(8, 10) = %v, want [7 11 9 10]", got)
	}
	for _, tc := range []struct {
		x, n uint32
		want uint64
	}{{7, 8, 8}, {3, 8, 4}, {10, 8, 1}, {7, 5, 5}, {11, 6, 2}, {15, 9, 9}} {
		if got := leavesUnder(tc.x, tc.n); got != tc.want {
			t.Errorf("leavesUnder(%d, %d) = %d, want %d", tc.x, tc.n, got, tc.want)
		}
	}
}
