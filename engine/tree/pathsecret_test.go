package tree

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// TestPathSecretNotNhRejected checks that a path secret of a length other
// than Nh, received in an UpdatePath or in a Welcome, is malformed input:
// the key derivations it would feed (HKDF) refuse keys shorter than 112
// bits in FIPS 140-only mode, and the engine must answer an error there,
// not reach them.
func TestPathSecretNotNhRejected(t *testing.T) {
	g := validGroup(t)
	cs := g.cs
	sender, me := LeafIndex(2), LeafIndex(0)
	res, err := g.tree.Clone().CreateUpdatePath(PathParams{
		Sender: sender, Leaf: g.tree.Leaf(sender), SignaturePriv: g.members[sender].sigPriv,
		GroupID: testGroupID, GroupContext: groupContext(cs),
	})
	if err != nil {
		t.Fatal(err)
	}
	tr := g.tree.Clone()
	if err := tr.ApplyUpdatePath(sender, res.Path); err != nil {
		t.Fatal(err)
	}
	ctx, err := groupContext(cs)(tr.TreeHash())
	if err != nil {
		t.Fatal(err)
	}
	// Seal a 5-byte path secret in every ciphertext of the path, each to
	// its recipient, so that whichever one leaf 0 opens is short.
	path := *res.Path
	path.Nodes = make([]wire.UpdatePathNode, len(res.Path.Nodes))
	for i, s := range tr.FilteredDirectPath(sender) {
		path.Nodes[i].EncryptionKey = res.Path.Nodes[i].EncryptionKey
		for _, x := range tr.Resolution(s.Copath, nil) {
			kem, ct, err := cs.EncryptWithLabel(tr.EncryptionKey(x), labelUpdatePathNode, ctx, []byte("short"))
			if err != nil {
				t.Fatal(err)
			}
			path.Nodes[i].EncryptedPathSecret = append(path.Nodes[i].EncryptedPathSecret, wire.HPKECiphertext{KEMOutput: kem, Ciphertext: ct})
		}
	}
	if _, err := tr.DecryptPath(g.keys[me], sender, &path, nil, ctx); !errors.Is(err, ErrMalformed) {
		t.Errorf("DecryptPath of a 5-byte path secret: %v, want ErrMalformed", err)
	}
	if _, err := tr.DecryptPath(g.keys[me], sender, res.Path, nil, ctx); err != nil {
		t.Fatalf("the untampered path: %v", err)
	}
	for _, n := range []int{0, 5, cs.Nh() + 1} {
		k := NewPrivateKeys(me, KeyPair{})
		if err := k.ImportPathSecret(cs, tr, sender, bytes.Repeat([]byte{1}, n)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ImportPathSecret of %d bytes: %v, want ErrMalformed", n, err)
		}
	}
}
