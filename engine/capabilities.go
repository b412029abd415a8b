package engine

import (
	"fmt"
	"slices"

	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// defaultExtension reports whether every client supports extension type t
// without listing it (RFC 9420 §7.2).
func defaultExtension(t wire.ExtensionType) bool {
	return t >= wire.ExtensionApplicationID && t <= wire.ExtensionExternalSenders
}

// defaultProposal reports whether every client supports proposal type t.
func defaultProposal(t wire.ProposalType) bool {
	return t >= wire.ProposalTypeAdd && t <= wire.ProposalTypeGroupContextExtensions
}

// leafSupports reports why leaf cannot be a member of a group with
// extensions exts, or nil: it must list every non-default extension in use
// and every required capability (RFC 9420 §11.1, §12.1.7).
func leafSupports(leaf *wire.LeafNode, exts wire.Extensions, req *wire.RequiredCapabilities) error {
	caps := &leaf.Capabilities
	for _, e := range exts {
		if !defaultExtension(e.ExtensionType) && !slices.Contains(caps.Extensions, e.ExtensionType) {
			return fmt.Errorf("extension %#04x not supported", uint16(e.ExtensionType))
		}
	}
	if req == nil {
		return nil
	}
	for _, e := range req.ExtensionTypes {
		if !defaultExtension(e) && !slices.Contains(caps.Extensions, e) {
			return fmt.Errorf("required extension %#04x not supported", uint16(e))
		}
	}
	for _, p := range req.ProposalTypes {
		if !defaultProposal(p) && !slices.Contains(caps.Proposals, p) {
			return fmt.Errorf("required proposal %#04x not supported", uint16(p))
		}
	}
	for _, c := range req.CredentialTypes {
		if !slices.Contains(caps.Credentials, c) {
			return fmt.Errorf("required credential type %d not supported", c)
		}
	}
	return nil
}

// supports reports, wrapping [ErrUnsupported], why this client, whose new
// leaf is leaf, cannot join a group with extensions exts: it must
// support every non-default extension in use and every required
// capability, as the members check (RFC 9420 §7.3, §11.1).
func (c *Client) supports(leaf *wire.LeafNode, exts wire.Extensions) error {
	req, err := requiredCapabilities(exts)
	if err != nil {
		return err
	}
	if err := leafSupports(leaf, exts, req); err != nil {
		return fmt.Errorf("this client cannot be a member of the group: %v: %w", err, ErrUnsupported)
	}
	return nil
}

// checkMembersSupport checks every member of t against a group context
// extension list (a GroupContextExtensions proposal, RFC 9420 §12.1.7).
func checkMembersSupport(t *tree.Tree, exts wire.Extensions) error {
	req, err := requiredCapabilities(exts)
	if err != nil {
		return err
	}
	var bad error
	t.Members(func(l tree.LeafIndex, leaf *wire.LeafNode) bool {
		if err := leafSupports(leaf, exts, req); err != nil {
			bad = fmt.Errorf("member %d: %v: %w", l, err, ErrInvalidProposal)
			return false
		}
		return true
	})
	return bad
}

// checkKeyPackageCaps checks that a KeyPackage's leaf lists the group's
// version and cipher suite and supports its extensions (RFC 9420 §10.1,
// §12.1.1).
func checkKeyPackageCaps(kp *wire.KeyPackage, gc *wire.GroupContext) error {
	caps := &kp.LeafNode.Capabilities
	if !slices.Contains(caps.Versions, gc.Version) || !slices.Contains(caps.CipherSuites, gc.CipherSuite) {
		return fmt.Errorf("key package does not support the group's version and suite: %w", ErrInvalidKeyPackage)
	}
	req, err := requiredCapabilities(gc.Extensions)
	if err != nil {
		return err
	}
	if err := leafSupports(&kp.LeafNode, gc.Extensions, req); err != nil {
		return fmt.Errorf("key package: %v: %w", err, ErrInvalidKeyPackage)
	}
	return nil
}
