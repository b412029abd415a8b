package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestExternalCommit has a new client join from a GroupInfo by external
// commit, and a member that lost its state re-join with a resync commit
// removing its old leaf.
func TestExternalCommit(t *testing.T) {
	ctx := context.Background()
	a, b := twoMembers(t, Options{})
	for _, withTree := range []bool{true, false} {
		c := newMember("carol")
		gi, err := a.g.GroupInfo(ctx, withTree)
		if err != nil {
			t.Fatal(err)
		}
		var tree []byte
		if !withTree {
			tree = a.g.s.tree.Encode()
		}
		var commit []byte
		if c.g, commit, err = c.client.JoinByExternalCommit(ctx, gi, tree, nil); err != nil {
			t.Fatalf("external join (tree in group info %v): %v", withTree, err)
		}
		rs := deliver(t, commit, a, b)
		if ci := rs[0].Commit; ci == nil || ci.Committer != c.g.OwnIndex() {
			t.Fatalf("got %+v, want commit from leaf %d", rs[0], c.g.OwnIndex())
		}
		agree(t, a, b, c)
		sendAndCheck(t, c, "hi from carol", a, b)
		sendAndCheck(t, a, "welcome carol", b, c)
		commitAndDeliver(t, a, CommitOptions{Remove: []uint32{c.g.OwnIndex()}}, b)
	}
	// Bob's state is unusable (say, restored too old) and he re-joins with
	// the same client and storage, removing his old leaf.
	old := b.g.OwnIndex()
	fresh := &member{name: "bob again", st: b.st, client: b.client}
	gi, err := a.g.GroupInfo(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	g, commit, err := fresh.client.JoinByExternalCommit(ctx, gi, nil, &old)
	if err != nil {
		t.Fatal(err)
	}
	fresh.g = g
	rs := deliver(t, commit, a)
	if ci := rs[0].Commit; len(ci.Removed) != 1 || ci.Removed[0].Index != old {
		t.Fatalf("resync commit removed %+v, want leaf %d", ci.Removed, old)
	}
	agree(t, a, fresh)
	if n := len(a.g.Members()); n != 2 {
		t.Fatalf("%d members after resync, want 2", n)
	}
	sendAndCheck(t, fresh, "back", a)
}

// TestJoinChecksInOrder checks that a joiner, which checks the tree hash
// and the GroupInfo signature while the leaves' signatures are checked,
// still reports the first failure in the order of §12.4.3.1: a tree that
// does not match the GroupInfo before a bad GroupInfo signature, and that
// nothing is joined either way.
func TestJoinChecksInOrder(t *testing.T) {
	ctx := context.Background()
	a, b := twoMembers(t, Options{})
	staleTree := a.g.s.tree.Encode()
	commitAndDeliver(t, a, CommitOptions{}, b)
	gi, err := a.g.GroupInfo(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	badSig := append([]byte(nil), gi...)
	badSig[len(badSig)-1] ^= 1
	tests := []struct {
		name     string
		gi, tree []byte
		want     error
		contains string
	}{
		{"stale tree", gi, staleTree, ErrInvalidWelcome, "tree hash"},
		{"bad signature", badSig, a.g.s.tree.Encode(), ErrBadSignature, "group info signature"},
		{"stale tree and bad signature", badSig, staleTree, ErrInvalidWelcome, "tree hash"},
	}
	for _, tc := range tests {
		c := newMember("carol")
		g, _, err := c.client.JoinByExternalCommit(ctx, tc.gi, tc.tree, nil)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.contains) {
			t.Errorf("%s: got %v, want %v mentioning %q", tc.name, err, tc.want, tc.contains)
		}
		if g != nil {
			t.Errorf("%s: joined anyway", tc.name)
		}
	}
	c := newMember("carol")
	if _, _, err := c.client.JoinByExternalCommit(ctx, gi, a.g.s.tree.Encode(), nil); err != nil {
		t.Fatalf("join with the right tree and signature: %v", err)
	}
}
