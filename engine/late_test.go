package engine

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// TestLateMessageUsesEpochKey checks that an application message of a
// retained past epoch is verified with its sender's signature key as of
// that epoch, not with the key the sender's leaf holds now: a member x
// removed after sending, whose leaf then went to a new member z, still
// gets its late message accepted; and a member y that held the past
// epoch's secrets, removed and re-added at x's leaf with its old signature
// key, cannot pass a message of that epoch off as x's — and the same holds
// after a reload.
func TestLateMessageUsesEpochKey(t *testing.T) {
	ctx := context.Background()
	opts := Options{RetainEpochs: 4}
	mk := func(name string) *member {
		st := NewMemStorage()
		return &member{name: name, st: st, client: NewClient(st, []byte(name), opts)}
	}
	a, b, x, y := mk("a"), mk("b"), mk("x"), mk("y")
	var err error
	if a.g, err = a.client.CreateGroup(ctx, suite1, []byte("late")); err != nil {
		t.Fatal(err)
	}
	out := commitAndDeliver(t, a, CommitOptions{Add: [][]byte{b.keyPackage(t, suite1), x.keyPackage(t, suite1), y.keyPackage(t, suite1)}})
	for _, m := range []*member{b, x, y} {
		if m.g, err = m.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
			t.Fatal(err)
		}
	}
	xLeaf := x.g.OwnIndex()
	late, err := x.g.Encrypt(ctx, []byte("from x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// y keeps its state of this epoch to forge a message from it later.
	yOld := *y.g.s
	// a removes x and y; z, whose KeyPackage carries y's signature key,
	// takes x's leaf.
	commitAndDeliver(t, a, CommitOptions{Remove: []uint32{xLeaf, y.g.OwnIndex()}}, b)
	cs := a.g.s.cs
	yPub, err := cs.SignaturePublicKey(yOld.sigPriv)
	if err != nil {
		t.Fatal(err)
	}
	_, zkp, err := newKeyPackage(cs, basicCredential("z"), testCaps(t, cs, wire.CredentialTypeBasic), yOld.sigPriv, yPub, timeNow())
	if err != nil {
		t.Fatal(err)
	}
	commitAndDeliver(t, a, CommitOptions{Add: [][]byte{zkp.KeyPackage}}, b)
	if got := a.g.s.tree.Leaf(tree.LeafIndex(xLeaf)); got == nil || string(got.SignatureKey) != string(yPub) {
		t.Fatalf("leaf %d does not hold y's signature key after the add", xLeaf)
	}
	// y forges an epoch-1 message from leaf xLeaf, signed with y's key.
	forgedState := yOld
	forgedState.keys = tree.NewPrivateKeys(tree.LeafIndex(xLeaf), tree.KeyPair{})
	forgedState.secrets = yOld.secrets.Clone()
	fg := &Group{st: NewMemStorage(), id: a.g.id, opts: a.g.opts, s: &forgedState}
	fg.opts.LeaseBlock = 1 << 20
	forged, err := fg.Encrypt(ctx, []byte("forged"), nil)
	if err != nil {
		t.Fatal(err)
	}
	check := func(step string, m *member) {
		t.Helper()
		if _, err := m.g.Process(ctx, forged); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("%s: forged late message: got %v, want ErrBadSignature", step, err)
		}
		r, err := m.g.Process(ctx, late)
		if err != nil || string(r.ApplicationData) != "from x" || r.Sender != xLeaf {
			t.Fatalf("%s: late message of removed x: got %+v, %v", step, r, err)
		}
	}
	check("b", b)
	reload(t, a)
	check("a after reload", a)
}

// TestEpochRecordRetired checks the epoch record's retired keys: they
// round-trip (version 2), a version 1 record reads as having none, and a
// leaf listed twice is rejected.
func TestEpochRecordRetired(t *testing.T) {
	base := epochRecord{GC: wire.GroupContext{GroupID: []byte("g"), TreeHash: []byte{}, ConfirmedTranscriptHash: []byte{}, Extensions: wire.Extensions{}},
		Secrets: []byte{1, 2}, Tree: []byte{3}, Lease: [2]uint32{4, 5}}
	withKeys := base
	withKeys.Retired = map[uint32][]byte{7: {0xaa, 0xbb}, 2: {}}
	for _, tc := range []struct {
		name string
		in   []byte
		want map[uint32][]byte
	}{
		{"version 2 with keys", codec.Marshal(withKeys), withKeys.Retired},
		{"version 2 without keys", codec.Marshal(base), nil},
		{"version 1", func() []byte {
			b := codec.Marshal(base)
			b[0] = recordVersion1
			return b[:len(b)-1] // no retired-keys vector
		}(), nil},
	} {
		var got epochRecord
		if err := codec.Unmarshal(tc.in, &got); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got.Lease != base.Lease || !bytes.Equal(got.Secrets, base.Secrets) {
			t.Errorf("%s: fields differ: %+v", tc.name, got)
		}
		if len(got.Retired) != len(tc.want) {
			t.Fatalf("%s: retired %v, want %v", tc.name, got.Retired, tc.want)
		}
		for l, k := range tc.want {
			if g, ok := got.Retired[l]; !ok || !bytes.Equal(g, k) {
				t.Errorf("%s: leaf %d: got %x (%v), want %x", tc.name, l, g, ok, k)
			}
		}
	}
	dup := codec.Marshal(base)
	dup = append(dup[:len(dup)-1], 0x0a, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0)
	var rec epochRecord
	if err := codec.Unmarshal(dup, &rec); !errors.Is(err, codec.ErrInvalid) {
		t.Errorf("duplicate leaf: got %v, want codec.ErrInvalid", err)
	}
}
