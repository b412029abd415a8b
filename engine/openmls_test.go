package engine

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// openMLSStyleGroup turns m's fresh one-member group into the kind of group
// OpenMLS-based clients create: its group context carries a
// required_capabilities extension from epoch 0, and the creator's leaf
// advertises what that extension requires (besides what it advertised).
// Epoch 0's secrets were derived before the change, which matters to
// nobody: the creator is alone in it, and every later epoch derives from
// the group context as it is now.
func openMLSStyleGroup(t *testing.T, m *member, rc wire.RequiredCapabilities) {
	t.Helper()
	s := m.g.s
	if s.gc.Epoch != 0 || s.tree.NumLeaves() != 1 {
		t.Fatal("openMLSStyleGroup needs a fresh one-member group")
	}
	leaf := *s.tree.Leaf(0)
	caps := &leaf.Capabilities
	caps.Credentials = union(caps.Credentials, rc.CredentialTypes)
	for _, e := range rc.ExtensionTypes {
		if !defaultExtension(e) {
			caps.Extensions = union(caps.Extensions, []wire.ExtensionType{e})
		}
	}
	for _, p := range rc.ProposalTypes {
		if !defaultProposal(p) {
			caps.Proposals = union(caps.Proposals, []wire.ProposalType{p})
		}
	}
	var err error
	if leaf.Signature, err = s.cs.SignWithLabel(s.sigPriv, labelLeafNodeTBS, leaf.TBS(nil, 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.tree.UpdateLeaf(0, &leaf); err != nil {
		t.Fatal(err)
	}
	s.gc.TreeHash = s.tree.TreeHash()
	s.gc.Extensions = wire.Extensions{{ExtensionType: wire.ExtensionRequiredCapabilities, ExtensionData: codec.Marshal(rc)}}
}

func union[T comparable](a, b []T) []T {
	out := slices.Clone(a)
	for _, v := range b {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// basicAndX509 is what OpenMLS-based messengers require by default.
var basicAndX509 = wire.RequiredCapabilities{CredentialTypes: []wire.CredentialType{wire.CredentialTypeBasic, wire.CredentialTypeX509}}

// TestKeyPackageAcceptedByGroupRequiringBasicAndX509 is failure 1 of issue
// 14: a group whose required_capabilities demand credential types basic
// and x509 (what an OpenMLS-based client creates) refused this engine's
// KeyPackages, which advertised basic only.
func TestKeyPackageAcceptedByGroupRequiringBasicAndX509(t *testing.T) {
	ctx := context.Background()
	a, b := newMember("alice"), newMember("bob")
	var err error
	if a.g, err = a.client.CreateGroup(ctx, suite1, []byte("openmls-style")); err != nil {
		t.Fatal(err)
	}
	openMLSStyleGroup(t, a, basicAndX509)
	out, err := a.g.Commit(ctx, CommitOptions{Add: [][]byte{b.keyPackage(t, suite1)}, Merge: true})
	if err != nil {
		t.Fatalf("add our KeyPackage to a group requiring basic and x509: %v", err)
	}
	if b.g, err = b.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
		t.Fatal(err)
	}
	agree(t, a, b)
	sendAndCheck(t, b, "hello", a)
	commitAndDeliver(t, b, CommitOptions{SelfUpdate: true}, a)
	agree(t, a, b)
}

// TestExternalJoinChecksOwnLeafBeforeStoring is failure 2 of issue 14:
// JoinByExternalCommit stored the group at the next epoch for a commit
// that every member must reject, because the joiner never checked its own
// new leaf against the group's required capabilities. Whatever the group
// requires, the join is either refused by the joiner itself, leaving its
// storage unchanged, or accepted by the members.
func TestExternalJoinChecksOwnLeafBeforeStoring(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		rc     wire.RequiredCapabilities
		refuse bool // whether this engine cannot meet rc at all
	}{
		{"basic and x509", basicAndX509, false},
		{"unknown credential type", wire.RequiredCapabilities{CredentialTypes: []wire.CredentialType{wire.CredentialTypeBasic, 0xf0f0}}, true},
		{"unknown extension", wire.RequiredCapabilities{ExtensionTypes: []wire.ExtensionType{0xff00}}, true},
		{"unknown proposal", wire.RequiredCapabilities{ProposalTypes: []wire.ProposalType{0xff01}}, true},
		{"default extension and proposal", wire.RequiredCapabilities{ExtensionTypes: []wire.ExtensionType{wire.ExtensionExternalSenders}, ProposalTypes: []wire.ProposalType{wire.ProposalTypeReInit}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, c := newMember("alice"), newMember("carol")
			var err error
			if a.g, err = a.client.CreateGroup(ctx, suite1, []byte("openmls-style")); err != nil {
				t.Fatal(err)
			}
			openMLSStyleGroup(t, a, tc.rc)
			gi, err := a.g.GroupInfo(ctx, true)
			if err != nil {
				t.Fatal(err)
			}
			before := c.st.Dump()
			g, commit, err := c.client.JoinByExternalCommit(ctx, gi, nil, nil)
			if err != nil {
				if !tc.refuse {
					t.Fatalf("join refused although this engine meets the requirements: %v", err)
				}
				if !errors.Is(err, ErrUnsupported) {
					t.Errorf("refusal %v does not wrap ErrUnsupported", err)
				}
				if g != nil || commit != nil {
					t.Error("refused join returned a group or a commit")
				}
				if !sameDump(before, c.st.Dump()) {
					t.Error("refused join changed the joiner's storage")
				}
				return
			}
			c.g = g
			if _, err := a.g.Process(ctx, commit); err != nil {
				t.Fatalf("joiner stored epoch %d, but the member rejects its commit: %v", g.Epoch(), err)
			}
			if tc.refuse {
				t.Fatal("the member accepted a commit this test expects to be refused")
			}
			agree(t, a, c)
			sendAndCheck(t, c, "joined", a)
		})
	}
}

// TestWelcomeAndGroupInfoWithoutTree is failure 3 of issue 14: a commit's
// Welcome without the ratchet_tree extension could only be had by setting
// Options.OmitRatchetTree for every commit of the group, and the tree to
// send alongside could not be obtained through the API. A per-commit
// choice and the tree out of band make the join work (RFC 9420
// §12.4.3.3); without the tree it fails and stores nothing.
func TestWelcomeAndGroupInfoWithoutTree(t *testing.T) {
	ctx := context.Background()
	a, b := twoMembers(t, Options{})
	c := newMember("carol")
	out := commitAndDeliver(t, a, CommitOptions{Add: [][]byte{c.keyPackage(t, suite1)}, NoRatchetTree: true}, b)
	if out.RatchetTree == nil {
		t.Fatal("a commit without the tree in its Welcome returned no tree to send out of band")
	}
	before := c.st.Dump()
	if _, err := c.client.JoinFromWelcome(ctx, out.Welcome, nil); !errors.Is(err, ErrInvalidWelcome) {
		t.Fatalf("join without any tree: got %v, want ErrInvalidWelcome", err)
	}
	if !sameDump(before, c.st.Dump()) {
		t.Fatal("failed join changed storage")
	}
	var err error
	if c.g, err = c.client.JoinFromWelcome(ctx, out.Welcome, out.RatchetTree); err != nil {
		t.Fatal(err)
	}
	agree(t, a, b, c)
	// The next commit of the same group carries the tree again.
	d := newMember("dave")
	out = commitAndDeliver(t, a, CommitOptions{Add: [][]byte{d.keyPackage(t, suite1)}}, b, c)
	if d.g, err = d.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
		t.Fatalf("Welcome of a commit without NoRatchetTree: %v", err)
	}
	// A GroupInfo without the tree, and the tree from the group.
	gi, err := b.g.GroupInfo(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := b.g.RatchetTree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := newMember("erin")
	g, commit, err := e.client.JoinByExternalCommit(ctx, gi, tree, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.g = g
	deliver(t, commit, a, b, c, d)
	agree(t, a, b, c, d, e)
}
