package tree

import (
	"bytes"
	"slices"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

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

func TestTreeValidationVectors(t *testing.T) {
	var vs []treeValidationVector
	if err := vectors.Load("tree-validation", &vs); err != nil {
		t.Fatal(err)
	}
	passed := 0
	for i, v := range vs {
		cs := mustSuite(t, v.CipherSuite)
		tr := mustDecode(t, cs, v.Tree)
		if got, want := int(tr.Width()), len(v.TreeHashes); got != want {
			t.Errorf("case %d: width %d, want %d", i, got, want)
			continue
		}
		ok := true
		for x := range tr.Width() {
			res := tr.Resolution(NodeIndex(x), nil)
			got := make([]uint32, len(res))
			for k, r := range res {
				got[k] = uint32(r)
			}
			if !slices.Equal(got, v.Resolutions[x]) {
				t.Errorf("case %d: resolution(%d) = %v, want %v", i, x, got, v.Resolutions[x])
				ok = false
			}
			if got := tr.NodeHash(NodeIndex(x)); !bytes.Equal(got, v.TreeHashes[x]) {
				t.Errorf("case %d: tree hash(%d) = %x, want %x", i, x, got, v.TreeHashes[x])
				ok = false
			}
		}
		if err := tr.Validate(ValidateOptions{GroupID: v.GroupID}); err != nil {
			t.Errorf("case %d (suite %d): Validate: %v", i, v.CipherSuite, err)
			ok = false
		}
		if ok {
			passed++
		}
	}
	if passed != len(vs) {
		t.Errorf("tree-validation: %d of %d cases passed", passed, len(vs))
	}
	t.Logf("tree-validation: %d of %d cases passed", passed, len(vs))
}

type treeOperationsVector struct {
	CipherSuite    uint16      `json:"cipher_suite"`
	TreeBefore     vectors.Hex `json:"tree_before"`
	Proposal       vectors.Hex `json:"proposal"`
	ProposalSender uint32      `json:"proposal_sender"`
	TreeHashBefore vectors.Hex `json:"tree_hash_before"`
	TreeAfter      vectors.Hex `json:"tree_after"`
	TreeHashAfter  vectors.Hex `json:"tree_hash_after"`
}

func TestTreeOperationsVectors(t *testing.T) {
	var vs []treeOperationsVector
	if err := vectors.Load("tree-operations", &vs); err != nil {
		t.Fatal(err)
	}
	passed := 0
	for i, v := range vs {
		cs := mustSuite(t, v.CipherSuite)
		tr := mustDecode(t, cs, v.TreeBefore)
		if got := tr.TreeHash(); !bytes.Equal(got, v.TreeHashBefore) {
			t.Errorf("case %d: tree hash before = %x, want %x", i, got, v.TreeHashBefore)
			continue
		}
		var p wire.Proposal
		if err := codec.Unmarshal(v.Proposal, &p); err != nil {
			t.Fatalf("case %d: proposal: %v", i, err)
		}
		var err error
		switch p.ProposalType {
		case wire.ProposalTypeAdd:
			tr.AddLeaf(&p.Add.KeyPackage.LeafNode)
		case wire.ProposalTypeUpdate:
			err = tr.UpdateLeaf(LeafIndex(v.ProposalSender), &p.Update.LeafNode)
		case wire.ProposalTypeRemove:
			err = tr.RemoveLeaf(LeafIndex(p.Remove.Removed))
		default:
			t.Fatalf("case %d: unexpected proposal type %d", i, p.ProposalType)
		}
		if err != nil {
			t.Errorf("case %d: apply proposal %d: %v", i, p.ProposalType, err)
			continue
		}
		if got := tr.Encode(); !bytes.Equal(got, v.TreeAfter) {
			t.Errorf("case %d (proposal %d): tree after differs:\n got %x\nwant %x", i, p.ProposalType, got, v.TreeAfter)
			continue
		}
		if got := tr.TreeHash(); !bytes.Equal(got, v.TreeHashAfter) {
			t.Errorf("case %d: tree hash after = %x, want %x", i, got, v.TreeHashAfter)
			continue
		}
		// The cached hash must equal a fresh computation of the same tree.
		if got := mustDecode(t, cs, v.TreeAfter).TreeHash(); !bytes.Equal(got, v.TreeHashAfter) {
			t.Errorf("case %d: fresh tree hash after = %x, want %x", i, got, v.TreeHashAfter)
			continue
		}
		passed++
	}
	if passed != len(vs) {
		t.Errorf("tree-operations: %d of %d cases passed", passed, len(vs))
	}
	t.Logf("tree-operations: %d of %d cases passed", passed, len(vs))
}
