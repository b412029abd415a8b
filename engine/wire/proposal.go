package wire

import "github.com/mlsbackup/mlsbackup/engine/codec"

// Add proposes adding the owner of KeyPackage (RFC 9420 §12.1.1).
type Add struct {
	KeyPackage KeyPackage
}

// MarshalTLS implements [codec.Marshaler].
func (a Add) MarshalTLS(w *codec.Writer) { a.KeyPackage.MarshalTLS(w) }

// UnmarshalTLS implements [codec.Unmarshaler].
func (a *Add) UnmarshalTLS(r *codec.Reader) { a.KeyPackage.UnmarshalTLS(r) }

// Update proposes replacing the sender's leaf (RFC 9420 §12.1.2).
type Update struct {
	LeafNode LeafNode
}

// MarshalTLS implements [codec.Marshaler].
func (u Update) MarshalTLS(w *codec.Writer) { u.LeafNode.MarshalTLS(w) }

// UnmarshalTLS implements [codec.Unmarshaler].
func (u *Update) UnmarshalTLS(r *codec.Reader) { u.LeafNode.UnmarshalTLS(r) }

// Remove proposes removing the member at leaf index Removed (RFC 9420 §12.1.3).
type Remove struct {
	Removed uint32
}

// MarshalTLS implements [codec.Marshaler].
func (p Remove) MarshalTLS(w *codec.Writer) { w.Uint32(p.Removed) }

// UnmarshalTLS implements [codec.Unmarshaler].
func (p *Remove) UnmarshalTLS(r *codec.Reader) { p.Removed = r.Uint32() }

// PreSharedKey proposes injecting a PSK into the key schedule (RFC 9420 §12.1.4).
type PreSharedKey struct {
	PSK PreSharedKeyID
}

// MarshalTLS implements [codec.Marshaler].
func (p PreSharedKey) MarshalTLS(w *codec.Writer) { p.PSK.MarshalTLS(w) }

// UnmarshalTLS implements [codec.Unmarshaler].
func (p *PreSharedKey) UnmarshalTLS(r *codec.Reader) { p.PSK.UnmarshalTLS(r) }

// ReInit proposes re-initializing the group with new parameters (RFC 9420 §12.1.5).
type ReInit struct {
	GroupID     []byte
	Version     ProtocolVersion
	CipherSuite CipherSuite
	Extensions  Extensions
}

// MarshalTLS implements [codec.Marshaler].
func (p ReInit) MarshalTLS(w *codec.Writer) {
	w.Opaque(p.GroupID)
	w.Uint16(uint16(p.Version))
	w.Uint16(uint16(p.CipherSuite))
	p.Extensions.MarshalTLS(w)
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (p *ReInit) UnmarshalTLS(r *codec.Reader) {
	p.GroupID = r.Opaque()
	p.Version = ProtocolVersion(r.Uint16())
	p.CipherSuite = CipherSuite(r.Uint16())
	p.Extensions.UnmarshalTLS(r)
}

// ExternalInit carries the KEM output of an external commit (RFC 9420 §12.1.6).
type ExternalInit struct {
	KEMOutput []byte
}

// MarshalTLS implements [codec.Marshaler].
func (p ExternalInit) MarshalTLS(w *codec.Writer) { w.Opaque(p.KEMOutput) }

// UnmarshalTLS implements [codec.Unmarshaler].
func (p *ExternalInit) UnmarshalTLS(r *codec.Reader) { p.KEMOutput = r.Opaque() }

// GroupContextExtensions proposes new group context extensions (RFC 9420 §12.1.7).
type GroupContextExtensions struct {
	Extensions Extensions
}

// MarshalTLS implements [codec.Marshaler].
func (p GroupContextExtensions) MarshalTLS(w *codec.Writer) { p.Extensions.MarshalTLS(w) }

// UnmarshalTLS implements [codec.Unmarshaler].
func (p *GroupContextExtensions) UnmarshalTLS(r *codec.Reader) { p.Extensions.UnmarshalTLS(r) }

// Proposal is the tagged union of RFC 9420 §12.1: the field matching
// ProposalType is set. Unknown proposal types cannot be decoded (their body
// has no length prefix) and are rejected with [codec.ErrInvalid].
type Proposal struct {
	ProposalType           ProposalType
	Add                    *Add
	Update                 *Update
	Remove                 *Remove
	PreSharedKey           *PreSharedKey
	ReInit                 *ReInit
	ExternalInit           *ExternalInit
	GroupContextExtensions *GroupContextExtensions
}

// body returns the variant selected by ProposalType, or nil.
func (p *Proposal) body() codec.Marshaler {
	switch p.ProposalType {
	case ProposalTypeAdd:
		if p.Add != nil {
			return p.Add
		}
	case ProposalTypeUpdate:
		if p.Update != nil {
			return p.Update
		}
	case ProposalTypeRemove:
		if p.Remove != nil {
			return p.Remove
		}
	case ProposalTypePSK:
		if p.PreSharedKey != nil {
			return p.PreSharedKey
		}
	case ProposalTypeReInit:
		if p.ReInit != nil {
			return p.ReInit
		}
	case ProposalTypeExternalInit:
		if p.ExternalInit != nil {
			return p.ExternalInit
		}
	case ProposalTypeGroupContextExtensions:
		if p.GroupContextExtensions != nil {
			return p.GroupContextExtensions
		}
	}
	return nil
}

// MarshalTLS implements [codec.Marshaler]. A proposal whose variant is
// missing is written with an empty body, which no decoder accepts.
func (p Proposal) MarshalTLS(w *codec.Writer) {
	w.Uint16(uint16(p.ProposalType))
	if b := p.body(); b != nil {
		b.MarshalTLS(w)
	}
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (p *Proposal) UnmarshalTLS(r *codec.Reader) {
	*p = Proposal{ProposalType: ProposalType(r.Uint16())}
	if r.Err() != nil {
		return
	}
	switch p.ProposalType {
	case ProposalTypeAdd:
		p.Add = new(Add)
		p.Add.UnmarshalTLS(r)
	case ProposalTypeUpdate:
		p.Update = new(Update)
		p.Update.UnmarshalTLS(r)
	case ProposalTypeRemove:
		p.Remove = new(Remove)
		p.Remove.UnmarshalTLS(r)
	case ProposalTypePSK:
		p.PreSharedKey = new(PreSharedKey)
		p.PreSharedKey.UnmarshalTLS(r)
	case ProposalTypeReInit:
		p.ReInit = new(ReInit)
		p.ReInit.UnmarshalTLS(r)
	case ProposalTypeExternalInit:
		p.ExternalInit = new(ExternalInit)
		p.ExternalInit.UnmarshalTLS(r)
	case ProposalTypeGroupContextExtensions:
		p.GroupContextExtensions = new(GroupContextExtensions)
		p.GroupContextExtensions.UnmarshalTLS(r)
	default:
		invalid(r, "proposal type %#04x", uint16(p.ProposalType))
	}
}

// ProposalOrRef is a proposal carried in a commit, inline or by reference
// (RFC 9420 §12.4).
type ProposalOrRef struct {
	Type      ProposalOrRefType
	Proposal  *Proposal
	Reference []byte
}

// MarshalTLS implements [codec.Marshaler].
func (p ProposalOrRef) MarshalTLS(w *codec.Writer) {
	w.Uint8(uint8(p.Type))
	switch p.Type {
	case ProposalOrRefTypeProposal:
		if p.Proposal != nil {
			p.Proposal.MarshalTLS(w)
		}
	case ProposalOrRefTypeReference:
		w.Opaque(p.Reference)
	}
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (p *ProposalOrRef) UnmarshalTLS(r *codec.Reader) {
	*p = ProposalOrRef{Type: ProposalOrRefType(r.Uint8())}
	if r.Err() != nil {
		return
	}
	switch p.Type {
	case ProposalOrRefTypeProposal:
		p.Proposal = new(Proposal)
		p.Proposal.UnmarshalTLS(r)
	case ProposalOrRefTypeReference:
		p.Reference = r.Opaque()
	default:
		invalid(r, "proposal-or-ref type %d", p.Type)
	}
}

// Commit applies proposals and optionally updates the committer's path
// (RFC 9420 §12.4). Path is nil when absent.
type Commit struct {
	Proposals []ProposalOrRef
	Path      *UpdatePath
}

// MarshalTLS implements [codec.Marshaler].
func (c Commit) MarshalTLS(w *codec.Writer) {
	writeList(w, c.Proposals)
	w.Optional(c.Path != nil, func(w *codec.Writer) { c.Path.MarshalTLS(w) })
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (c *Commit) UnmarshalTLS(r *codec.Reader) {
	c.Proposals = readList[ProposalOrRef](r)
	c.Path = nil
	r.Optional(func(r *codec.Reader) {
		c.Path = new(UpdatePath)
		c.Path.UnmarshalTLS(r)
	})
}
