package tree

import (
	"bytes"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// FuzzDecode feeds arbitrary bytes to the ratchet-tree decoder and runs the
// whole-tree checks on what it accepts: nothing may panic, and an accepted
// tree re-encodes to its input.
func FuzzDecode(f *testing.F) {
	var vs []treeValidationVector
	if err := vectors.Load("tree-validation", &vs); err != nil {
		f.Fatal(err)
	}
	for i, v := range vs {
		if v.CipherSuite == 1 && i%2 == 0 {
			f.Add([]byte(v.Tree))
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0x00})
	leaf := leafNode(fakeLeaf(0))
	parent := parentNode(&wire.ParentNode{EncryptionKey: []byte{1}, ParentHash: []byte{}, UnmergedLeaves: []uint32{0}})
	f.Add(codec.Marshal(wire.RatchetTree{leaf}))
	f.Add(codec.Marshal(wire.RatchetTree{leaf, parent}))
	f.Add(codec.Marshal(wire.RatchetTree{leaf, parent, nil, nil, leaf}))
	cs := mustSuite(f, 1)
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := Decode(cs, b)
		if err != nil {
			return
		}
		if got := tr.Encode(); !bytes.Equal(got, b) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", got, b)
		}
		tr.TreeHash()
		_ = tr.Validate(ValidateOptions{})
		for x := range tr.Width() {
			tr.Resolution(NodeIndex(x), nil)
		}
		for l := range tr.NumLeaves() {
			tr.FilteredDirectPath(LeafIndex(l))
		}
	})
}

// FuzzPrivateKeys checks that the private-state decoder never panics and
// that what it accepts re-encodes to the same bytes.
func FuzzPrivateKeys(f *testing.F) {
	k := NewPrivateKeys(2, KeyPair{Priv: []byte{1, 2}, Pub: []byte{3}})
	k.SetKey(5, KeyPair{Priv: []byte{4}, Pub: []byte{5, 6}})
	f.Add(codec.Marshal(k))
	f.Add([]byte{0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p PrivateKeys
		if err := codec.Unmarshal(b, &p); err != nil {
			return
		}
		if got := codec.Marshal(&p); !bytes.Equal(got, b) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", got, b)
		}
	})
}
