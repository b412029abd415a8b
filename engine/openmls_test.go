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
