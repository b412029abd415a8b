package tree

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// validGroup returns a group of eight members after a few commits.
func validGroup(t *testing.T) *group {
	t.Helper()
	g := newGroup(t, mustSuite(t, 1))
	g.commit(t, 0, 5, nil)
	g.commit(t, 3, 2, nil)
	g.commit(t, 6, 0, nil)
	return g
}

func TestValidateRejectsTampering(t *testing.T) {
	g := validGroup(t)
	if err := g.tree.Validate(ValidateOptions{GroupID: testGroupID}); err != nil {
		t.Fatalf("valid tree: %v", err)
	}
	tests := []struct {
		name   string
		tamper func(tr *Tree)
		want   error
	}{
		{"parent hash", func(tr *Tree) {
			p := *tr.Parent(tr.Root())
			p.ParentHash = []byte("bogus")
			tr.setNode(tr.Root(), parentNode(&p))
		}, ErrParentHash},
		{"parent key", func(tr *Tree) {
			p := *tr.Parent(tr.Root())
			p.EncryptionKey = fakeLeaf(0).EncryptionKey
			tr.setNode(tr.Root(), parentNode(&p))
		}, ErrParentHash},
		{"wrong group id", nil, ErrInvalidLeaf},
	}
	for _, tt := range tests {
		tr := g.tree.Clone()
		gid := testGroupID
		if tt.tamper != nil {
			tt.tamper(tr)
		} else {
			gid = []byte("another group")
		}
		if err := tr.Validate(ValidateOptions{GroupID: gid}); !errors.Is(err, tt.want) {
			t.Errorf("%s: Validate error = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestValidateKeyUniquenessAndCredentials(t *testing.T) {
	cs := mustSuite(t, 1)
	a, b := newMember(t, cs, "a"), newMember(t, cs, "b")
	resign := func(m *member, edit func(l *wire.LeafNode)) *wire.LeafNode {
		l := *m.leaf
		edit(&l)
		var err error
		if l.Signature, err = cs.SignWithLabel(m.sigPriv, labelLeafNodeTBS, l.TBS(nil, 0)); err != nil {
			t.Fatal(err)
		}
		return &l
	}
	tests := []struct {
		name string
		b    *wire.LeafNode
		want error
	}{
		{"ok", b.leaf, nil},
		{"bad signature", func() *wire.LeafNode {
			l := *b.leaf
			l.Signature = slices.Clone(l.Signature)
			l.Signature[0] ^= 1
			return &l
		}(), ErrInvalidLeaf},
		{"same encryption key", resign(b, func(l *wire.LeafNode) { l.EncryptionKey = a.leaf.EncryptionKey }), ErrDuplicateKey},
		{"x509 not supported by a", resign(b, func(l *wire.LeafNode) {
			l.Credential = wire.Credential{CredentialType: wire.CredentialTypeX509, Certificates: [][]byte{{1}}}
			l.Capabilities.Credentials = []wire.CredentialType{wire.CredentialTypeBasic, wire.CredentialTypeX509}
		}), ErrInvalidLeaf},
		{"credential not in own capabilities", resign(b, func(l *wire.LeafNode) {
			l.Capabilities.Credentials = []wire.CredentialType{wire.CredentialTypeX509}
		}), ErrInvalidLeaf},
		{"invalid encryption key", resign(b, func(l *wire.LeafNode) { l.EncryptionKey = l.EncryptionKey[:31] }), ErrInvalidLeaf},
		{"unlisted extension", resign(b, func(l *wire.LeafNode) {
			l.Extensions = wire.Extensions{{ExtensionType: 0xff00, ExtensionData: []byte{}}}
		}), ErrInvalidLeaf},
	}
	for _, tt := range tests {
		tr := New(cs, a.leaf)
		tr.AddLeaf(tt.b)
		if err := tr.Validate(ValidateOptions{}); !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
			t.Errorf("%s: Validate error = %v, want %v", tt.name, err, tt.want)
		}
		// The same leaf checked before adding it.
		tr = New(cs, a.leaf)
		err := ValidateLeafNode(cs, tt.b, LeafCheck{Source: wire.LeafNodeSourceKeyPackage})
		if err == nil {
			err = tr.CheckLeafFits(tt.b, nil)
		}
		if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
			t.Errorf("%s: ValidateLeafNode+CheckLeafFits error = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestValidateLeafNodeContext(t *testing.T) {
	cs := mustSuite(t, 1)
	m := newMember(t, cs, "m")
	now := time.Unix(1000, 0)
	expired := *m.leaf
	expired.Lifetime = wire.Lifetime{NotBefore: 0, NotAfter: 999}
	expired.Signature, _ = cs.SignWithLabel(m.sigPriv, labelLeafNodeTBS, expired.TBS(nil, 0))
	tests := []struct {
		name string
		leaf *wire.LeafNode
		c    LeafCheck
		want error
	}{
		{"key package ok", m.leaf, LeafCheck{Source: wire.LeafNodeSourceKeyPackage, Now: now}, nil},
		{"wrong source", m.leaf, LeafCheck{Source: wire.LeafNodeSourceUpdate}, ErrInvalidLeaf},
		{"expired", &expired, LeafCheck{Now: now}, ErrInvalidLeaf},
		{"expiry ignored without time", &expired, LeafCheck{}, nil},
		{"required proposal", m.leaf, LeafCheck{Required: &wire.RequiredCapabilities{ProposalTypes: []wire.ProposalType{0x0a0a}}}, ErrInvalidLeaf},
		{"required default proposal", m.leaf, LeafCheck{Required: &wire.RequiredCapabilities{ProposalTypes: []wire.ProposalType{wire.ProposalTypeAdd}}}, nil},
		{"required credential", m.leaf, LeafCheck{Required: &wire.RequiredCapabilities{CredentialTypes: []wire.CredentialType{wire.CredentialTypeX509}}}, ErrInvalidLeaf},
	}
	for _, tt := range tests {
		err := ValidateLeafNode(cs, tt.leaf, tt.c)
		if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
			t.Errorf("%s: error = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestCheckUnmerged(t *testing.T) {
	tests := []struct {
		name    string
		leaves  []int
		parents map[NodeIndex][]uint32
		wantErr bool
	}{
		{"consistent", []int{0, 1, 2, 3}, map[NodeIndex][]uint32{3: {2}, 5: {2}}, false},
		{"blank parent between", []int{0, 1, 2, 3}, map[NodeIndex][]uint32{3: {2}}, false},
		{"missing at intermediate", []int{0, 1, 2, 3}, map[NodeIndex][]uint32{3: {2}, 5: {}}, true},
		{"not below", []int{0, 1, 2, 3}, map[NodeIndex][]uint32{1: {2}}, true},
		{"blank leaf", []int{0, 1, 3}, map[NodeIndex][]uint32{3: {2}}, true},
		{"unsorted", []int{0, 1, 2, 3}, map[NodeIndex][]uint32{3: {3, 2}}, true},
		{"duplicate", []int{0, 1, 2, 3}, map[NodeIndex][]uint32{3: {2, 2}}, true},
	}
	for _, tt := range tests {
		err := buildTree(t, 4, tt.leaves, tt.parents).checkUnmerged()
		if got := err != nil; got != tt.wantErr {
			t.Errorf("%s: checkUnmerged error = %v, want error %v", tt.name, err, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrUnmerged) {
			t.Errorf("%s: error %v does not wrap ErrUnmerged", tt.name, err)
		}
	}
}

func TestApplyUpdatePathRejects(t *testing.T) {
	g := validGroup(t)
	cs := g.cs
	sender := LeafIndex(2)
	mk := func() *wire.UpdatePath {
		res, err := g.tree.Clone().CreateUpdatePath(PathParams{
			Sender: sender, Leaf: g.tree.Leaf(sender), SignaturePriv: g.members[sender].sigPriv,
			GroupID: testGroupID, GroupContext: groupContext(cs),
		})
		if err != nil {
			t.Fatal(err)
		}
		return res.Path
	}
	tests := []struct {
		name   string
		tamper func(p *wire.UpdatePath)
		want   error
	}{
		{"node missing", func(p *wire.UpdatePath) { p.Nodes = p.Nodes[1:] }, ErrMalformed},
		{"leaf parent hash", func(p *wire.UpdatePath) { p.LeafNode.ParentHash = []byte("x") }, ErrParentHash},
		{"node key", func(p *wire.UpdatePath) { p.Nodes[0].EncryptionKey = fakeLeaf(1).EncryptionKey }, ErrParentHash},
		{"reused tree key", func(p *wire.UpdatePath) { p.Nodes[1].EncryptionKey = g.tree.EncryptionKey(1) }, ErrDuplicateKey},
		{"repeated key", func(p *wire.UpdatePath) { p.Nodes[1].EncryptionKey = p.Nodes[0].EncryptionKey }, ErrDuplicateKey},
		{"leaf source", func(p *wire.UpdatePath) { p.LeafNode.LeafNodeSource = wire.LeafNodeSourceUpdate }, ErrInvalidLeaf},
		{"invalid node key", func(p *wire.UpdatePath) { p.Nodes[0].EncryptionKey = []byte{1, 2, 3} }, ErrMalformed},
	}
	for _, tt := range tests {
		p := mk()
		tt.tamper(p)
		tr := g.tree.Clone()
		before := tr.Encode()
		if err := tr.ApplyUpdatePath(sender, p); !errors.Is(err, tt.want) {
			t.Errorf("%s: error = %v, want %v", tt.name, err, tt.want)
		}
		if string(tr.Encode()) != string(before) {
			t.Errorf("%s: tree changed by a rejected path", tt.name)
		}
	}
	// A path decrypted under another group context fails to decrypt.
	p := mk()
	tr := g.tree.Clone()
	if err := tr.ApplyUpdatePath(sender, p); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.DecryptPath(g.keys[0], sender, p, nil, []byte("other context")); !errors.Is(err, suite.ErrDecrypt) {
		t.Errorf("wrong context: error = %v, want suite.ErrDecrypt", err)
	}
	if _, err := tr.DecryptPath(NewPrivateKeys(0, KeyPair{Priv: []byte("x"), Pub: []byte("y")}), sender, p, nil, nil); !errors.Is(err, ErrNoPrivateKey) {
		t.Errorf("no key: error = %v, want ErrNoPrivateKey", err)
	}
	if _, err := tr.DecryptPath(g.keys[sender], sender, p, nil, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("own path: error = %v, want ErrMalformed", err)
	}
}
