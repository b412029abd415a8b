package tree

import (
	"fmt"
	"slices"
	"time"

	"github.com/mlsbackup/mlsbackup/engine/internal/parallel"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/treemath"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// LeafCheck gives the context of a leaf-node validation (§7.3).
type LeafCheck struct {
	// Source is the leaf_node_source required by where the leaf appears
	// (key_package, update or commit); zero accepts any.
	Source wire.LeafNodeSource
	// GroupID and Leaf are the signature context of update and commit leaves.
	GroupID []byte
	Leaf    LeafIndex
	// Required is the group's required_capabilities extension, if any.
	Required *wire.RequiredCapabilities
	// Now, if not zero, is checked against the lifetime of key_package leaves.
	Now time.Time
}

// defaultExtension reports whether t is one of the extension types that
// every client supports and no capabilities list names (§7.2).
func defaultExtension(t wire.ExtensionType) bool {
	return t >= wire.ExtensionApplicationID && t <= wire.ExtensionExternalSenders
}

// defaultProposal reports whether t is a proposal type every client supports.
func defaultProposal(t wire.ProposalType) bool {
	return t >= wire.ProposalTypeAdd && t <= wire.ProposalTypeGroupContextExtensions
}

// ValidateLeafNode checks a leaf node on its own (§7.3): its signature,
// that its encryption key is a valid HPKE public key, its source, its lifetime (when c.Now is set), that its credential type
// and non-default extensions are listed in its capabilities, and that it
// supports the group's required capabilities. Checks that need the whole
// group (credential types of other members, key uniqueness) are in
// [Tree.CheckLeafFits]; credential validation itself (§5.3.1) is the
// application's.
func ValidateLeafNode(cs *suite.Suite, leaf *wire.LeafNode, c LeafCheck) error {
	if c.Source != 0 && leaf.LeafNodeSource != c.Source {
		return fmt.Errorf("leaf source %d, want %d: %w", leaf.LeafNodeSource, c.Source, ErrInvalidLeaf)
	}
	if err := cs.VerifyWithLabel(leaf.SignatureKey, labelLeafNodeTBS, leaf.TBS(c.GroupID, uint32(c.Leaf)), leaf.Signature); err != nil {
		return fmt.Errorf("leaf signature: %w: %w", ErrInvalidLeaf, err)
	}
	if err := cs.ValidatePublicKey(leaf.EncryptionKey); err != nil {
		return fmt.Errorf("leaf encryption key: %w: %w", ErrInvalidLeaf, err)
	}
	caps := &leaf.Capabilities
	if !slices.Contains(caps.Credentials, leaf.Credential.CredentialType) {
		return fmt.Errorf("credential type %d not in capabilities: %w", leaf.Credential.CredentialType, ErrInvalidLeaf)
	}
	for _, e := range leaf.Extensions {
		if !defaultExtension(e.ExtensionType) && !slices.Contains(caps.Extensions, e.ExtensionType) {
			return fmt.Errorf("extension %d not in capabilities: %w", e.ExtensionType, ErrInvalidLeaf)
		}
	}
	if leaf.Extensions.HasDuplicates() {
		return fmt.Errorf("duplicate leaf extension: %w", ErrInvalidLeaf)
	}
	if r := c.Required; r != nil {
		for _, e := range r.ExtensionTypes {
			if !defaultExtension(e) && !slices.Contains(caps.Extensions, e) {
				return fmt.Errorf("required extension %d not supported: %w", e, ErrInvalidLeaf)
			}
		}
		for _, p := range r.ProposalTypes {
			if !defaultProposal(p) && !slices.Contains(caps.Proposals, p) {
				return fmt.Errorf("required proposal %d not supported: %w", p, ErrInvalidLeaf)
			}
		}
		for _, ct := range r.CredentialTypes {
			if !slices.Contains(caps.Credentials, ct) {
				return fmt.Errorf("required credential type %d not supported: %w", ct, ErrInvalidLeaf)
			}
		}
	}
	if leaf.LeafNodeSource == wire.LeafNodeSourceKeyPackage && !c.Now.IsZero() {
		now := c.Now.Unix()
		if now < 0 || uint64(now) < leaf.Lifetime.NotBefore || uint64(now) > leaf.Lifetime.NotAfter {
			return fmt.Errorf("leaf lifetime does not cover now: %w", ErrInvalidLeaf)
		}
	}
	return nil
}

// CheckLeafFits checks a leaf node that is to join the tree, at leaf
// replacing (if it replaces an existing leaf, as an Update or a commit
// path does) or as a new member (replacing = nil): its credential type must
// be supported by every other member, it must support every credential type
// in use by the others, and its encryption and signature keys must not
// occur elsewhere in the tree (§7.3). An update may keep its signature key.
func (t *Tree) CheckLeafFits(leaf *wire.LeafNode, replacing *LeafIndex) error {
	var old *wire.LeafNode
	if replacing != nil {
		old = t.Leaf(*replacing)
	}
	k := t.idx()
	for c, n := range k.credUse {
		if old != nil && c == old.Credential.CredentialType {
			n--
		}
		if n > 0 && !slices.Contains(leaf.Capabilities.Credentials, c) {
			return fmt.Errorf("credential type %d in use is not supported: %w", c, ErrInvalidLeaf)
		}
	}
	ct := leaf.Credential.CredentialType
	sup, members := k.credSup[ct], k.members
	if old != nil {
		members--
		if slices.Contains(old.Capabilities.Credentials, ct) {
			sup--
		}
	}
	if sup != members {
		return fmt.Errorf("credential type %d not supported by every member: %w", ct, ErrInvalidLeaf)
	}
	if t.HasEncryptionKey(leaf.EncryptionKey) {
		return fmt.Errorf("leaf encryption key: %w", ErrDuplicateKey)
	}
	sigUses := t.keyCount(kindSignature, leaf.SignatureKey)
	if old != nil && string(old.SignatureKey) == string(leaf.SignatureKey) {
		sigUses--
	}
	if sigUses > 0 {
		return fmt.Errorf("leaf signature key: %w", ErrDuplicateKey)
	}
	return nil
}

// ValidateOptions gives the group context of a whole-tree validation.
type ValidateOptions struct {
	// GroupID is the group's id, the signature context of leaves.
	GroupID []byte
	// Required is the group's required_capabilities extension, if any.
	Required *wire.RequiredCapabilities
	// Now, if not zero, is checked against key_package leaf lifetimes.
	Now time.Time
	// Alongside, if set, runs on the calling goroutine while the leaves'
	// signatures, most of the work for a large tree, are checked on the
	// others: a joiner compares the tree hash and checks the GroupInfo
	// signature meanwhile. It may read and hash the tree but change
	// nothing else, and its outcome is the caller's to report.
	Alongside func()
}

// Validate checks a tree received when joining (§12.4.3.1), except the
// tree hash, which the caller compares with the GroupInfo: every non-blank
// parent is parent-hash valid, every leaf node is valid (§7.3; signatures
// are checked on all CPUs, alongside the rest), every credential type in use is supported by
// every member, encryption and signature keys are unique, and unmerged
// leaves are consistent.
func (t *Tree) Validate(o ValidateOptions) error {
	// Own every chunk first: hashing on this goroutine then writes only
	// its slots' hash and encoding fields, never a chunk pointer, while
	// the leaf checks read the nodes.
	t.st.ownAll()
	leaves := make(chan error, 1)
	go func() { leaves <- t.validateLeaves(o) }()
	if o.Alongside != nil {
		o.Alongside()
	}
	parentErr := t.VerifyParentHashes()
	leafErr := <-leaves
	if parentErr != nil {
		return fmt.Errorf("validate tree: %w", parentErr)
	}
	if leafErr != nil {
		return fmt.Errorf("validate tree: %w", leafErr)
	}
	if err := t.checkUnmerged(); err != nil {
		return fmt.Errorf("validate tree: %w", err)
	}
	k := t.idx()
	for c := range k.credUse {
		if k.credSup[c] != k.members {
			return fmt.Errorf("validate tree: credential type %d not supported by every member: %w", c, ErrInvalidLeaf)
		}
	}
	for s, n := range k.base {
		if n+k.delta[s] > 1 {
			return fmt.Errorf("validate tree: %w", ErrDuplicateKey)
		}
	}
	for s, n := range k.delta {
		if n+k.base[s] > 1 {
			return fmt.Errorf("validate tree: %w", ErrDuplicateKey)
		}
	}
	return nil
}

// validateLeaves runs [ValidateLeafNode] on every non-blank leaf.
func (t *Tree) validateLeaves(o ValidateOptions) error {
	var leaves []LeafIndex
	t.Members(func(l LeafIndex, _ *wire.LeafNode) bool {
		leaves = append(leaves, l)
		return true
	})
	return parallel.For(len(leaves), 4, func(i int) error {
		l := leaves[i]
		err := ValidateLeafNode(t.cs, t.Leaf(l), LeafCheck{GroupID: o.GroupID, Leaf: l, Required: o.Required, Now: o.Now})
		if err != nil {
			return fmt.Errorf("leaf %d: %w", l, err)
		}
		return nil
	})
}

// checkUnmerged verifies every non-blank parent's encryption key (a valid
// HPKE public key) and unmerged_leaves list (§7.1, §12.4.3.1): strictly
// ascending; each entry a non-blank leaf
// below the parent; every non-blank node between that leaf and the parent
// listing it too.
func (t *Tree) checkUnmerged() error {
	n := t.NumLeaves()
	for x := 1; x < t.st.len(); x += 2 {
		p := NodeIndex(x)
		pn := t.Parent(p)
		if pn == nil {
			continue
		}
		if err := t.cs.ValidatePublicKey(pn.EncryptionKey); err != nil {
			return fmt.Errorf("node %d: %w: %w", p, ErrMalformed, err)
		}
		if !slices.IsSorted(pn.UnmergedLeaves) || len(slices.Compact(slices.Clone(pn.UnmergedLeaves))) != len(pn.UnmergedLeaves) {
			return fmt.Errorf("node %d: unmerged leaves not strictly ascending: %w", p, ErrUnmerged)
		}
		for _, u := range pn.UnmergedLeaves {
			l := LeafIndex(u)
			if u >= n || !treemath.IsAncestor(p, l.Node()) {
				return fmt.Errorf("node %d: unmerged leaf %d not below it: %w", p, u, ErrUnmerged)
			}
			if t.Leaf(l) == nil {
				return fmt.Errorf("node %d: unmerged leaf %d is blank: %w", p, u, ErrUnmerged)
			}
			for _, a := range treemath.DirectPath(l.Node(), n) {
				if a == p {
					break
				}
				if an := t.Parent(a); an != nil {
					if _, found := slices.BinarySearch(an.UnmergedLeaves, u); !found {
						return fmt.Errorf("node %d: unmerged leaf %d missing at node %d: %w", p, u, a, ErrUnmerged)
					}
				}
			}
		}
	}
	return nil
}
