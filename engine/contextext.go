package engine

import (
	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// ExternalSender is a party outside the group allowed to send proposals
// (RFC 9420 §12.1.8.1), such as a delivery service.
type ExternalSender struct {
	// SignatureKey is its signature public key.
	SignatureKey []byte
	// Identity is carried as a basic credential.
	Identity []byte
}

// RequiredCapabilities is what a group requires of every member (the
// required_capabilities extension, RFC 9420 §11.1): credential types,
// and non-default extension and proposal types.
type RequiredCapabilities struct {
	Credentials []CredentialType
	Extensions  []uint16
	Proposals   []uint16
}

func (rc *RequiredCapabilities) wire() wire.RequiredCapabilities {
	out := wire.RequiredCapabilities{
		ExtensionTypes:  make([]wire.ExtensionType, 0, len(rc.Extensions)),
		ProposalTypes:   make([]wire.ProposalType, 0, len(rc.Proposals)),
		CredentialTypes: make([]wire.CredentialType, 0, len(rc.Credentials)),
	}
	for _, e := range rc.Extensions {
		out.ExtensionTypes = append(out.ExtensionTypes, wire.ExtensionType(e))
	}
	for _, p := range rc.Proposals {
		out.ProposalTypes = append(out.ProposalTypes, wire.ProposalType(p))
	}
	for _, c := range rc.Credentials {
		out.CredentialTypes = append(out.CredentialTypes, wire.CredentialType(c))
	}
	return out
}

// contextExtensionsProposal builds the GroupContextExtensions proposal of
// o, if it changes any: the group context extensions cur with
// external_senders and required_capabilities replaced as o says, the
// others kept. It reports false if o changes none.
func contextExtensionsProposal(cur wire.Extensions, o CommitOptions) (wire.Proposal, bool) {
	if o.ExternalSenders == nil && o.RequiredCapabilities == nil {
		return wire.Proposal{}, false
	}
	exts := wire.Extensions{}
	for _, e := range cur {
		switch {
		case e.ExtensionType == wire.ExtensionExternalSenders && o.ExternalSenders != nil,
			e.ExtensionType == wire.ExtensionRequiredCapabilities && o.RequiredCapabilities != nil:
		default:
			exts = append(exts, e)
		}
	}
	if o.RequiredCapabilities != nil {
		exts = append(exts, wire.Extension{ExtensionType: wire.ExtensionRequiredCapabilities, ExtensionData: codec.Marshal(o.RequiredCapabilities.wire())})
	}
	if o.ExternalSenders != nil {
		list := make(wire.ExternalSenders, len(o.ExternalSenders))
		for i, e := range o.ExternalSenders {
			list[i] = wire.ExternalSender{SignatureKey: e.SignatureKey, Credential: wire.Credential{CredentialType: wire.CredentialTypeBasic, Identity: e.Identity}}
		}
		exts = append(exts, wire.Extension{ExtensionType: wire.ExtensionExternalSenders, ExtensionData: codec.Marshal(list)})
	}
	return wire.Proposal{ProposalType: wire.ProposalTypeGroupContextExtensions, GroupContextExtensions: &wire.GroupContextExtensions{Extensions: exts}}, true
}
