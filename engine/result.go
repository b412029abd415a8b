package engine

// ContentKind says what a processed message carried.
type ContentKind int

// The kinds of processed content.
const (
	// ContentApplication is application data.
	ContentApplication ContentKind = iota + 1
	// ContentProposal is a proposal, now cached for a later commit.
	ContentProposal
	// ContentCommit is a commit, now applied: the group is in a new epoch.
	ContentCommit
)

// Result describes a processed message.
type Result struct {
	// Kind is what the message carried.
	Kind ContentKind
	// Epoch is the epoch the message belonged to.
	Epoch uint64
	// SenderType is the RFC 9420 sender type (1 member, 2 external,
	// 3 new_member_proposal, 4 new_member_commit).
	SenderType uint8
	// Sender is the sender's leaf index (members) or index in the
	// external_senders extension (external senders).
	Sender uint32
	// AuthenticatedData is the message's authenticated_data.
	AuthenticatedData []byte
	// ApplicationData is the plaintext of an application message.
	ApplicationData []byte
	// Proposal describes a proposal message.
	Proposal *ProposalInfo
	// Commit describes an applied commit.
	Commit *CommitInfo
}

// ProposalInfo describes a received proposal.
type ProposalInfo struct {
	// Type is the proposal type.
	Type uint16
	// Ref is the proposal reference a commit uses to include it.
	Ref []byte
}

// CommitInfo describes the membership changes of an applied commit.
type CommitInfo struct {
	// Epoch is the new epoch.
	Epoch uint64
	// Added are the members added, with their new leaf indices.
	Added []Member
	// Removed are the members removed (as they were before the commit).
	Removed []Member
	// Updated are the leaves whose members updated their keys by proposal.
	Updated []uint32
	// Committer is the committer's leaf index in the new epoch.
	Committer uint32
	// SelfRemoved is set when the commit removed this member; the group is
	// closed afterwards.
	SelfRemoved bool
	// ReInit is set when the commit carries a ReInit proposal: the group
	// must be re-created with new parameters and is closed afterwards.
	ReInit bool
}

func (st *staged) info() *CommitInfo {
	ci := &CommitInfo{Epoch: st.ns.gc.Epoch, Removed: st.removed, Committer: uint32(st.sender), SelfRemoved: st.selfRemoved, ReInit: st.reinit != nil}
	for _, l := range st.added {
		ci.Added = append(ci.Added, memberOf(st.ns.ids, l, st.ns.tree.Leaf(l)))
	}
	for _, l := range st.updated {
		ci.Updated = append(ci.Updated, uint32(l))
	}
	return ci
}
