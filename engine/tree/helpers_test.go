package tree

import (
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// member is a simulated client: its signature key, its leaf key and the
// key-package leaf node it would be added with.
type member struct {
	sigPriv []byte
	leafKP  KeyPair
	leaf    *wire.LeafNode
}

var testGroupID = []byte("tree test group")

// newMember creates a member with fresh keys and a signed key_package leaf.
func newMember(t testing.TB, cs *suite.Suite, name string) *member {
	t.Helper()
	sigPriv, sigPub, err := cs.GenerateSignatureKey()
	if err != nil {
		t.Fatal(err)
	}
	priv, pub, err := cs.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	leaf := &wire.LeafNode{
		EncryptionKey: pub,
		SignatureKey:  sigPub,
		Credential:    wire.Credential{CredentialType: wire.CredentialTypeBasic, Identity: []byte(name)},
		Capabilities: wire.Capabilities{
			Versions:     []wire.ProtocolVersion{wire.ProtocolVersionMLS10},
			CipherSuites: []wire.CipherSuite{wire.CipherSuite(cs.ID())},
			Extensions:   []wire.ExtensionType{},
			Proposals:    []wire.ProposalType{},
			Credentials:  []wire.CredentialType{wire.CredentialTypeBasic},
		},
		LeafNodeSource: wire.LeafNodeSourceKeyPackage,
		Lifetime:       wire.Lifetime{NotBefore: 0, NotAfter: 1 << 62},
		Extensions:     wire.Extensions{},
	}
	leaf.Signature, err = cs.SignWithLabel(sigPriv, labelLeafNodeTBS, leaf.TBS(nil, 0))
	if err != nil {
		t.Fatal(err)
	}
	return &member{sigPriv: sigPriv, leafKP: KeyPair{Priv: priv, Pub: pub}, leaf: leaf}
}

// fakeLeaf returns an unsigned leaf with random keys, for hashing tests
// and benchmarks that need no cryptography.
func fakeLeaf(i int) *wire.LeafNode {
	enc := make([]byte, 32)
	sig := make([]byte, 32)
	rand.Read(enc)
	rand.Read(sig)
	return &wire.LeafNode{
		EncryptionKey:  enc,
		SignatureKey:   sig,
		Credential:     wire.Credential{CredentialType: wire.CredentialTypeBasic, Identity: fmt.Appendf(nil, "member %d", i)},
		Capabilities:   wire.Capabilities{Credentials: []wire.CredentialType{wire.CredentialTypeBasic}},
		LeafNodeSource: wire.LeafNodeSourceKeyPackage,
		Lifetime:       wire.Lifetime{NotAfter: 1 << 62},
		Signature:      make([]byte, 64),
	}
}

// groupContext is the provisional-context callback used by the tests.
func groupContext(cs *suite.Suite) func([]byte) ([]byte, error) {
	return func(th []byte) ([]byte, error) {
		return codec.Marshal(wire.GroupContext{
			Version:     wire.ProtocolVersionMLS10,
			CipherSuite: wire.CipherSuite(cs.ID()),
			GroupID:     testGroupID,
			Epoch:       1,
			TreeHash:    th,
			Extensions:  wire.Extensions{},
		}), nil
	}
}

// group is a simulated group: one shared public tree and every member's
// private keys, kept in sync by commit.
type group struct {
	cs      *suite.Suite
	tree    *Tree
	members map[LeafIndex]*member
	keys    map[LeafIndex]*PrivateKeys
}

// newGroup creates a group whose creator is a fresh member at leaf 0.
func newGroup(t testing.TB, cs *suite.Suite) *group {
	t.Helper()
	m := newMember(t, cs, "creator")
	return &group{
		cs:      cs,
		tree:    New(cs, m.leaf),
		members: map[LeafIndex]*member{0: m},
		keys:    map[LeafIndex]*PrivateKeys{0: NewPrivateKeys(0, m.leafKP)},
	}
}

// commit has committer apply adds new members and removes, then send an
// UpdatePath that every other member processes. New members get the path
// secret as from a Welcome. It returns the leaves of the added members.
func (g *group) commit(t testing.TB, committer LeafIndex, add int, remove []LeafIndex) []LeafIndex {
	t.Helper()
	next := g.tree.Clone()
	for _, r := range remove {
		if err := next.RemoveLeaf(r); err != nil {
			t.Fatalf("remove %d: %v", r, err)
		}
		delete(g.members, r)
		delete(g.keys, r)
	}
	var added []LeafIndex
	for i := range add {
		m := newMember(t, g.cs, fmt.Sprintf("m%d-%d", len(g.members), i))
		l := next.AddLeaf(m.leaf)
		g.members[l] = m
		g.keys[l] = NewPrivateKeys(l, m.leafKP)
		added = append(added, l)
	}
	for _, k := range g.keys {
		k.Prune(next)
	}
	sender := g.members[committer]
	senderTree := next.Clone()
	res, err := senderTree.CreateUpdatePath(PathParams{
		Sender:        committer,
		Leaf:          next.Leaf(committer),
		SignaturePriv: sender.sigPriv,
		GroupID:       testGroupID,
		Exclude:       added,
		GroupContext:  groupContext(g.cs),
	})
	if err != nil {
		t.Fatalf("create update path: %v", err)
	}
	path := res.Path
	if err := ValidateLeafNode(g.cs, &path.LeafNode, LeafCheck{Source: wire.LeafNodeSourceCommit, GroupID: testGroupID, Leaf: committer}); err != nil {
		t.Fatalf("created leaf: %v", err)
	}
	if err := next.ApplyUpdatePath(committer, path); err != nil {
		t.Fatalf("apply update path: %v", err)
	}
	ctx, _ := groupContext(g.cs)(next.TreeHash())
	for l, k := range g.keys {
		switch {
		case l == committer:
			g.keys[l] = res.Keys
		case contains(added, l):
			secret, ok := res.PathSecretFor(l)
			if !ok {
				t.Fatalf("no path secret for new member %d", l)
			}
			if err := k.ImportPathSecret(g.cs, next, committer, secret); err != nil {
				t.Fatalf("new member %d: %v", l, err)
			}
		default:
			d, err := next.DecryptPath(k, committer, path, added, ctx)
			if err != nil {
				t.Fatalf("member %d: decrypt path of %d: %v", l, committer, err)
			}
			if string(d.CommitSecret) != string(res.CommitSecret) {
				t.Fatalf("member %d: commit secret differs", l)
			}
			g.keys[l] = d.Keys
		}
	}
	g.tree = next
	for l, k := range g.keys {
		if err := k.CheckConsistent(g.tree); err != nil {
			t.Fatalf("member %d keys: %v", l, err)
		}
	}
	return added
}

func contains(ls []LeafIndex, l LeafIndex) bool {
	for _, x := range ls {
		if x == l {
			return true
		}
	}
	return false
}

func mustSuite(t testing.TB, id uint16) *suite.Suite {
	t.Helper()
	cs, err := suite.New(suite.ID(id))
	if err != nil {
		t.Fatalf("suite %d: %v", id, err)
	}
	return cs
}

func mustDecode(t testing.TB, cs *suite.Suite, b []byte) *Tree {
	t.Helper()
	tr, err := Decode(cs, b)
	if err != nil {
		t.Fatalf("decode tree: %v", err)
	}
	return tr
}

type treeValidationVector struct {
	CipherSuite uint16        `json:"cipher_suite"`
	Tree        vectors.Hex   `json:"tree"`
	GroupID     vectors.Hex   `json:"group_id"`
	Resolutions [][]uint32    `json:"resolutions"`
	TreeHashes  []vectors.Hex `json:"tree_hashes"`
}
