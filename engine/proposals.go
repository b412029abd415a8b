package engine

import (
	"context"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// resolvedProposal is one proposal of a commit with its origin.
type resolvedProposal struct {
	p      *wire.Proposal
	sender wire.Sender
	// byRef marks a proposal included by reference.
	byRef bool
	// leafPriv is set for this member's own Update proposals.
	leafPriv []byte
}

func proposalErr(i int, p *wire.Proposal, format string, args ...any) error {
	return &ProposalError{Index: i, Type: uint16(p.ProposalType), Err: fmt.Errorf(format+": %w", append(args, ErrInvalidProposal)...)}
}

// checkProposal validates one proposal from sender on its own (RFC 9420
// §12.1): which senders may send it and the content checks that do not need
// the rest of the commit, the credentials it brings included (§5.3.1).
func (s *groupState) checkProposal(ctx context.Context, i int, p *wire.Proposal, sender wire.Sender, opts Options) error {
	switch sender.SenderType {
	case wire.SenderTypeExternal:
		switch p.ProposalType {
		case wire.ProposalTypeUpdate, wire.ProposalTypeExternalInit:
			return proposalErr(i, p, "external sender may not propose this type")
		}
	case wire.SenderTypeNewMemberProposal:
		if p.ProposalType != wire.ProposalTypeAdd {
			return proposalErr(i, p, "new member proposal must be an add")
		}
	}
	req, err := requiredCapabilities(s.gc.Extensions)
	if err != nil {
		return err
	}
	switch p.ProposalType {
	case wire.ProposalTypeAdd:
		if p.Add == nil {
			return proposalErr(i, p, "empty add")
		}
		if err := validateKeyPackage(s.cs, &p.Add.KeyPackage, req, opts.now()); err != nil {
			return &ProposalError{Index: i, Type: uint16(p.ProposalType), Err: err}
		}
		if err := checkKeyPackageCaps(&p.Add.KeyPackage, &s.gc); err != nil {
			return &ProposalError{Index: i, Type: uint16(p.ProposalType), Err: err}
		}
		if err := authenticateLeaf(ctx, s.cs, opts, &p.Add.KeyPackage.LeafNode, nil); err != nil {
			return &ProposalError{Index: i, Type: uint16(p.ProposalType), Err: fmt.Errorf("%w: %w", ErrInvalidProposal, err)}
		}
	case wire.ProposalTypeUpdate:
		if p.Update == nil || sender.SenderType != wire.SenderTypeMember {
			return proposalErr(i, p, "update must come from a member")
		}
		if s.tree.Leaf(tree.LeafIndex(sender.LeafIndex)) == nil {
			return proposalErr(i, p, "update from blank leaf %d", sender.LeafIndex)
		}
		c := tree.LeafCheck{Source: wire.LeafNodeSourceUpdate, GroupID: s.gc.GroupID, Leaf: tree.LeafIndex(sender.LeafIndex), Required: req, Now: opts.now()}
		if err := tree.ValidateLeafNode(s.cs, &p.Update.LeafNode, c); err != nil {
			return &ProposalError{Index: i, Type: uint16(p.ProposalType), Err: fmt.Errorf("%w: %w", ErrInvalidProposal, err)}
		}
		if err := authenticateLeaf(ctx, s.cs, opts, &p.Update.LeafNode, s.tree.Leaf(tree.LeafIndex(sender.LeafIndex))); err != nil {
			return &ProposalError{Index: i, Type: uint16(p.ProposalType), Err: fmt.Errorf("%w: %w", ErrInvalidProposal, err)}
		}
	case wire.ProposalTypeRemove:
		if p.Remove == nil || s.tree.Leaf(tree.LeafIndex(p.Remove.Removed)) == nil {
			return proposalErr(i, p, "remove of a blank or missing leaf")
		}
	case wire.ProposalTypePSK:
		if p.PreSharedKey == nil {
			return proposalErr(i, p, "empty psk")
		}
		id := &p.PreSharedKey.PSK
		if id.PSKType == wire.PSKTypeResumption && id.Usage != wire.ResumptionPSKUsageApplication {
			return proposalErr(i, p, "resumption psk usage %d", id.Usage)
		}
		if len(id.PSKNonce) != s.cs.Nh() {
			return proposalErr(i, p, "psk nonce of %d bytes", len(id.PSKNonce))
		}
	case wire.ProposalTypeReInit:
		if p.ReInit == nil || p.ReInit.Version < s.gc.Version {
			return proposalErr(i, p, "reinit to an older version")
		}
	case wire.ProposalTypeExternalInit:
		if p.ExternalInit == nil {
			return proposalErr(i, p, "empty external init")
		}
	case wire.ProposalTypeGroupContextExtensions:
		if p.GroupContextExtensions == nil || p.GroupContextExtensions.Extensions.HasDuplicates() {
			return proposalErr(i, p, "duplicate group context extension")
		}
		exts := p.GroupContextExtensions.Extensions
		if _, err := requiredCapabilities(exts); err != nil {
			return &ProposalError{Index: i, Type: uint16(p.ProposalType), Err: err}
		}
		es, err := externalSenders(exts)
		if err != nil {
			return &ProposalError{Index: i, Type: uint16(p.ProposalType), Err: err}
		}
		for _, e := range es {
			if err := authenticateSender(ctx, s.cs, opts, &e); err != nil {
				return &ProposalError{Index: i, Type: uint16(p.ProposalType), Err: fmt.Errorf("%w: external sender: %w", ErrInvalidProposal, err)}
			}
		}
	default:
		return proposalErr(i, p, "unknown proposal type")
	}
	return nil
}

// resolveProposals turns a commit's proposal list into proposals, looking
// up references in the cache, and validates the list (RFC 9420 §12.2).
func (s *groupState) resolveProposals(ctx context.Context, c *wire.Commit, committer wire.Sender, opts Options) ([]resolvedProposal, error) {
	external := committer.SenderType == wire.SenderTypeNewMemberCommit
	out := make([]resolvedProposal, 0, len(c.Proposals))
	for i, por := range c.Proposals {
		switch por.Type {
		case wire.ProposalOrRefTypeProposal:
			if por.Proposal == nil {
				return nil, fmt.Errorf("proposal %d empty: %w", i, ErrMalformed)
			}
			if err := s.checkProposal(ctx, i, por.Proposal, committer, opts); err != nil {
				return nil, err
			}
			out = append(out, resolvedProposal{p: por.Proposal, sender: committer})
		case wire.ProposalOrRefTypeReference:
			if external {
				return nil, fmt.Errorf("external commit references proposal %d: %w", i, ErrInvalidCommit)
			}
			cp, ok := s.findProposal(por.Reference)
			if !ok {
				return nil, fmt.Errorf("proposal %d: unknown reference %x: %w", i, por.Reference, ErrInvalidProposal)
			}
			out = append(out, resolvedProposal{p: &cp.Proposal, sender: cp.Sender, byRef: true, leafPriv: cp.LeafPriv})
		default:
			return nil, fmt.Errorf("proposal %d: %w", i, ErrMalformed)
		}
	}
	if err := s.checkProposalList(out, committer); err != nil {
		return nil, err
	}
	return out, nil
}

// checkProposalList applies the list rules of RFC 9420 §12.2 and, for
// external commits, §12.4.3.2.
func (s *groupState) checkProposalList(ps []resolvedProposal, committer wire.Sender) error {
	touched := map[uint32]bool{}
	addKeys := map[string]bool{}
	counts := map[wire.ProposalType]int{}
	psks := make([]wire.PreSharedKeyID, 0)
	external := committer.SenderType == wire.SenderTypeNewMemberCommit
	for i, rp := range ps {
		p := rp.p
		counts[p.ProposalType]++
		switch p.ProposalType {
		case wire.ProposalTypeUpdate:
			if !rp.byRef || (committer.SenderType == wire.SenderTypeMember && rp.sender.LeafIndex == committer.LeafIndex) {
				return proposalErr(i, p, "committer includes its own update")
			}
			if touched[rp.sender.LeafIndex] {
				return proposalErr(i, p, "leaf %d updated or removed twice", rp.sender.LeafIndex)
			}
			touched[rp.sender.LeafIndex] = true
		case wire.ProposalTypeRemove:
			r := p.Remove.Removed
			if committer.SenderType == wire.SenderTypeMember && r == committer.LeafIndex {
				return proposalErr(i, p, "committer removes itself")
			}
			if touched[r] {
				return proposalErr(i, p, "leaf %d updated or removed twice", r)
			}
			touched[r] = true
		case wire.ProposalTypeAdd:
			k := string(p.Add.KeyPackage.LeafNode.SignatureKey)
			if addKeys[k] {
				return proposalErr(i, p, "two adds of the same client")
			}
			addKeys[k] = true
		case wire.ProposalTypePSK:
			psks = append(psks, p.PreSharedKey.PSK)
		case wire.ProposalTypeExternalInit:
			if !external {
				return proposalErr(i, p, "external init in a member commit")
			}
		}
	}
	if err := checkPSKIDs(s.cs, psks); err != nil {
		return err
	}
	if counts[wire.ProposalTypeGroupContextExtensions] > 1 {
		return fmt.Errorf("several group context extensions proposals: %w", ErrInvalidProposal)
	}
	if counts[wire.ProposalTypeReInit] > 0 && len(ps) > 1 {
		return fmt.Errorf("reinit with other proposals: %w", ErrInvalidProposal)
	}
	if external {
		if counts[wire.ProposalTypeExternalInit] != 1 || counts[wire.ProposalTypeRemove] > 1 ||
			counts[wire.ProposalTypeAdd] > 0 || counts[wire.ProposalTypeUpdate] > 0 ||
			counts[wire.ProposalTypeGroupContextExtensions] > 0 || counts[wire.ProposalTypeReInit] > 0 {
			return fmt.Errorf("external commit proposals: %w", ErrInvalidCommit)
		}
	}
	return nil
}

// pathRequired reports whether a commit covering ps must carry a path
// (RFC 9420 §12.4, "path required" column of §17.4).
func pathRequired(ps []resolvedProposal) bool {
	if len(ps) == 0 {
		return true
	}
	for _, rp := range ps {
		switch rp.p.ProposalType {
		case wire.ProposalTypeUpdate, wire.ProposalTypeRemove, wire.ProposalTypeExternalInit, wire.ProposalTypeGroupContextExtensions:
			return true
		}
	}
	return false
}

// proposalRef computes the reference of a proposal message's content.
func (s *groupState) proposalRef(ac *wire.AuthenticatedContent) []byte {
	return wire.MakeProposalRef(hashFunc(s.cs), codec.Marshal(*ac))
}
