package treevectors

import (
	"fmt"
	"slices"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// treeOperationsVector is one case of tree-operations.json.
type treeOperationsVector struct {
	CipherSuite    uint16      `json:"cipher_suite"`
	TreeBefore     vectors.Hex `json:"tree_before"`
	Proposal       vectors.Hex `json:"proposal"`
	ProposalSender uint32      `json:"proposal_sender"`
	TreeHashBefore vectors.Hex `json:"tree_hash_before"`
	TreeAfter      vectors.Hex `json:"tree_after"`
	TreeHashAfter  vectors.Hex `json:"tree_hash_after"`
}

// treeOperationsCase applies an Add, Update or Remove to tree_before and
// compares the encoded result and its (cached and fresh) tree hash.
func treeOperationsCase(v *treeOperationsVector) error {
	cs, err := newSuite(v.CipherSuite)
	if err != nil {
		return err
	}
	tr, err := decode(cs, v.TreeBefore)
	if err != nil {
		return err
	}
	if err := equal("tree hash before", tr.TreeHash(), v.TreeHashBefore); err != nil {
		return err
	}
	var p wire.Proposal
	if err := codec.Unmarshal(v.Proposal, &p); err != nil {
		return fmt.Errorf("proposal: %w", err)
	}
	switch p.ProposalType {
	case wire.ProposalTypeAdd:
		tr.AddLeaf(&p.Add.KeyPackage.LeafNode)
	case wire.ProposalTypeUpdate:
		err = tr.UpdateLeaf(tree.LeafIndex(v.ProposalSender), &p.Update.LeafNode)
	case wire.ProposalTypeRemove:
		err = tr.RemoveLeaf(tree.LeafIndex(p.Remove.Removed))
	default:
		return fmt.Errorf("unexpected proposal type %d", p.ProposalType)
	}
	if err != nil {
		return fmt.Errorf("apply proposal %d: %w", p.ProposalType, err)
	}
	if err := equal("tree after", tr.Encode(), v.TreeAfter); err != nil {
		return err
	}
	if err := equal("tree hash after", tr.TreeHash(), v.TreeHashAfter); err != nil {
		return err
	}
	fresh, err := decode(cs, v.TreeAfter)
	if err != nil {
		return err
	}
	return equal("fresh tree hash after", fresh.TreeHash(), v.TreeHashAfter)
}

// treeValidationVector is one case of tree-validation.json.
type treeValidationVector struct {
	CipherSuite uint16        `json:"cipher_suite"`
	Tree        vectors.Hex   `json:"tree"`
	GroupID     vectors.Hex   `json:"group_id"`
	Resolutions [][]uint32    `json:"resolutions"`
	TreeHashes  []vectors.Hex `json:"tree_hashes"`
}

// treeValidationCase checks every node's resolution and tree hash, then
// validates the tree as a joiner would (parent hashes, leaf signatures
// with the group id, and the rest of §12.4.3.1).
func treeValidationCase(v *treeValidationVector) error {
	cs, err := newSuite(v.CipherSuite)
	if err != nil {
		return err
	}
	tr, err := decode(cs, v.Tree)
	if err != nil {
		return err
	}
	if got, want := int(tr.Width()), len(v.TreeHashes); got != want || len(v.Resolutions) != want {
		return fmt.Errorf("width %d, want %d", got, want)
	}
	for x := range tr.Width() {
		res := tr.Resolution(tree.NodeIndex(x), nil)
		got := make([]uint32, len(res))
		for k, r := range res {
			got[k] = uint32(r)
		}
		if !slices.Equal(got, v.Resolutions[x]) {
			return fmt.Errorf("resolution(%d) = %v, want %v", x, got, v.Resolutions[x])
		}
		if err := equal(fmt.Sprintf("tree hash(%d)", x), tr.NodeHash(tree.NodeIndex(x)), v.TreeHashes[x]); err != nil {
			return err
		}
	}
	if err := tr.Validate(tree.ValidateOptions{GroupID: v.GroupID}); err != nil {
		return fmt.Errorf("suite %d: %w", v.CipherSuite, err)
	}
	return nil
}
