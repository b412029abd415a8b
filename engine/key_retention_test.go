package engine

import (
	"bytes"
	"context"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/internal/retain"
)

// TestUsedHPKEKeysUnreachable checks RFC 9420 §9.2 in memory: once a
// member has joined, the init key its Welcome was encrypted to is reached
// by nothing the member keeps — its client's suite registry (shared by all
// its groups), its group or its storage — and once it has replaced its
// leaf key by a commit of its own, the old leaf key, last used to decrypt
// a path secret, is gone the same way. The suites used to keep the last
// HPKE private key they parsed for the life of the process.
func TestUsedHPKEKeysUnreachable(t *testing.T) {
	ctx := context.Background()
	a, b := newMember("alice"), newMember("bob")
	var err error
	if a.g, err = a.client.CreateGroup(ctx, suite1, []byte("group")); err != nil {
		t.Fatal(err)
	}
	kp := b.keyPackage(t, suite1)
	ref, err := KeyPackageRef(kp)
	if err != nil {
		t.Fatal(err)
	}
	sec, err := b.client.loadKeyPackage(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	initPriv := bytes.Clone(sec.InitPriv)
	out := commitAndDeliver(t, a, CommitOptions{Add: [][]byte{kp}})
	if b.g, err = b.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
		t.Fatal(err)
	}
	unreachable(t, "init key after the join", b, initPriv)

	// Bob decrypts Alice's path secret with his leaf key, then replaces it.
	deliver(t, commitAndDeliver(t, a, CommitOptions{SelfUpdate: true}).Commit, b)
	leaf, ok := b.g.s.keys.Key(b.g.s.keys.Leaf().Node())
	if !ok {
		t.Fatal("bob has no leaf key")
	}
	oldLeaf := bytes.Clone(leaf.Priv)
	deliver(t, commitAndDeliver(t, b, CommitOptions{SelfUpdate: true}).Commit, a)
	unreachable(t, "leaf key after its replacement", b, oldLeaf)
	agree(t, a, b)
}

// unreachable fails if anything of m that outlives an operation reaches
// key.
func unreachable(t *testing.T, what string, m *member, key []byte) {
	t.Helper()
	for name, root := range map[string]any{"suite registry": m.client.opts.Suites, "group": m.g, "storage": m.st} {
		if path := retain.Find(root, key); path != "" {
			t.Errorf("%s: the %s still holds it at %s", what, name, path)
		}
	}
}
