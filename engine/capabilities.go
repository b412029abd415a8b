package engine

import (
	"fmt"
	"slices"

	"github.com/mlsbackup/mlsbackup/engine/suite"
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

// Capabilities is what a client advertises in its new leaves besides the
// protocol version and the cipher suite (RFC 9420 §7.2). A nil list means
// everything the engine implements; a list names only what the engine
// implements, or GREASE values (RFC 9420 §13.5), which are sent but never
// relied on. Leaves keep the capabilities they were created with.
type Capabilities struct {
	// Credentials are credential types: basic, and x509 in the suites
	// whose signature keys certificates carry ([suite.Suite.CertificateKeys];
	// listed x509 is left out in the others). It must include the
	// client's own credential type. Nil: both.
	Credentials []CredentialType
	// Extensions are non-default extension types (default ones, 1 to 5,
	// must not be listed). The engine implements none, so only GREASE
	// values may be listed.
	Extensions []uint16
	// Proposals are non-default proposal types (default ones, 1 to 7, must
	// not be listed). The engine implements none, so only GREASE values
	// may be listed.
	Proposals []uint16
}

// IsGREASE reports whether v is one of the GREASE values RFC 9420 §13.5
// reserves in the credential, extension and proposal type registries.
func IsGREASE(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>12 == (v>>4)&0xf && v != 0xfafa }

// Validate reports, wrapping [ErrUnsupported], a capability the engine
// does not implement, a default extension or proposal type listed, or a
// duplicate.
func (c Capabilities) Validate() error {
	seen := map[[2]uint16]bool{}
	check := func(kind uint16, what string, v uint16, ok bool) error {
		if seen[[2]uint16{kind, v}] {
			return fmt.Errorf("capabilities: %s %#04x listed twice: %w", what, v, ErrUnsupported)
		}
		seen[[2]uint16{kind, v}] = true
		if !ok && !IsGREASE(v) {
			return fmt.Errorf("capabilities: %s %#04x is not implemented (only GREASE values may be listed besides): %w", what, v, ErrUnsupported)
		}
		return nil
	}
	for _, t := range c.Credentials {
		if err := check(0, "credential type", uint16(t), t == CredentialBasic || t == CredentialX509); err != nil {
			return err
		}
	}
	for _, e := range c.Extensions {
		if defaultExtension(wire.ExtensionType(e)) {
			return fmt.Errorf("capabilities: extension %#04x is a default one, which is not listed: %w", e, ErrUnsupported)
		}
		if err := check(1, "extension", e, false); err != nil {
			return err
		}
	}
	for _, p := range c.Proposals {
		if defaultProposal(wire.ProposalType(p)) {
			return fmt.Errorf("capabilities: proposal %#04x is a default one, which is not listed: %w", p, ErrUnsupported)
		}
		if err := check(2, "proposal", p, false); err != nil {
			return err
		}
	}
	return nil
}

// leafCapabilities returns the capabilities of a new leaf of suite cs that
// presents a credential of type own.
func (c Capabilities) leafCapabilities(cs *suite.Suite, own wire.CredentialType) (wire.Capabilities, error) {
	if err := c.Validate(); err != nil {
		return wire.Capabilities{}, err
	}
	caps := wire.Capabilities{
		Versions:     []wire.ProtocolVersion{wire.ProtocolVersionMLS10},
		CipherSuites: []wire.CipherSuite{wire.CipherSuite(cs.ID())},
		Extensions:   make([]wire.ExtensionType, 0, len(c.Extensions)),
		Proposals:    make([]wire.ProposalType, 0, len(c.Proposals)),
	}
	creds := c.Credentials
	if creds == nil {
		creds = []CredentialType{CredentialBasic, CredentialX509}
	}
	for _, t := range creds {
		if t != CredentialX509 || cs.CertificateKeys() {
			caps.Credentials = append(caps.Credentials, wire.CredentialType(t))
		}
	}
	if !slices.Contains(caps.Credentials, own) {
		return wire.Capabilities{}, fmt.Errorf("capabilities: the client's own credential type %d is not listed: %w", own, ErrUnsupported)
	}
	for _, e := range c.Extensions {
		caps.Extensions = append(caps.Extensions, wire.ExtensionType(e))
	}
	for _, p := range c.Proposals {
		caps.Proposals = append(caps.Proposals, wire.ProposalType(p))
	}
	return caps, nil
}
