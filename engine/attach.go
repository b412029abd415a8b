package engine

import (
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// Attach lets a caller store what it derives from a transition's result in
// the very batch that makes the transition durable — a transactional
// outbox: a crash leaves both or neither, so a result is never lost after
// the state moved on (a received message's plaintext after its key was
// consumed, a commit after it was merged, a ciphertext after its
// generation was used). It is called once per transition, after the result
// is computed and before the batch is applied, with the group's lock held;
// it must not call back into the group. Its components must not use the
// engine's kinds ([KindState], [KindEpochSecrets], [KindKeys]). An error
// aborts the transition: nothing is stored and the group is unchanged.
//
// A transition given an Attach always writes a batch, even one that
// otherwise writes nothing (an [Group.Encrypt] inside its generation lease).
type Attach func(o *Outcome) ([]Put, error)

// Outcome is what a transition produced, as given to an [Attach].
type Outcome struct {
	// Op is the batch's operation name.
	Op string
	// GroupID is the group's id (nil for [Client.CreateKeyPackage]).
	GroupID []byte
	// Epoch is the group's epoch after the transition.
	Epoch uint64
	// Message is the MLSMessage to deliver: the PrivateMessage of
	// [Group.Encrypt], the commit of [Group.Commit] or
	// [Client.JoinByExternalCommit], the KeyPackage of
	// [Client.CreateKeyPackage].
	Message []byte
	// Welcome is the Welcome of a commit that adds members.
	Welcome []byte
	// RatchetTree is the tree the Welcome leaves out, if it does
	// ([CommitOutput.RatchetTree]).
	RatchetTree []byte
	// Result is what [Group.Process] found in the incoming message.
	Result *Result
	// Commit describes a commit this member created and merged in the
	// transition ([CommitOptions.Merge]).
	Commit *CommitInfo
	// Members are the group's members after the transition (nil for
	// client-level operations).
	Members []Member
	// CipherSuite, OwnIndex and EpochAuthenticator describe the group
	// after the transition (zero for client-level operations; OwnIndex is
	// meaningless when Left is set).
	CipherSuite        uint16
	OwnIndex           uint32
	EpochAuthenticator []byte
	// Left is set when the transition removed this member from the group
	// (or re-initialized it): the group is deleted in the same batch.
	Left bool
}

// attachCall is the Attach of the operation in progress and the outcome it
// will be given; a nil *attachCall attaches nothing.
type attachCall struct {
	fn  Attach
	out Outcome
}

// newAttachCall returns the call for the optional attach argument of an
// operation (at most one is used), or nil.
func newAttachCall(attach []Attach) *attachCall {
	for _, fn := range attach {
		if fn != nil {
			return &attachCall{fn: fn}
		}
	}
	return nil
}

// active reports whether the call attaches anything.
func (c *attachCall) active() bool { return c != nil }

// outcome returns the outcome to fill in, or nil without a call.
func (c *attachCall) outcome() *Outcome {
	if c == nil {
		return nil
	}
	return &c.out
}

// extend appends the call's components to b, the batch of the transition
// into ns (nil for client-level operations); left says that the batch
// deletes the group because this member left it.
func (c *attachCall) extend(b *Batch, ns *groupState, left bool) error {
	if c == nil {
		return nil
	}
	c.out.Op, c.out.Left = b.Op, left
	if ns != nil {
		c.out.GroupID, c.out.Epoch, c.out.Members = ns.gc.GroupID, ns.gc.Epoch, treeMembers(ns.ids, ns.tree)
		c.out.CipherSuite = uint16(ns.cs.ID())
		if ns.epoch != nil {
			c.out.EpochAuthenticator = ns.epoch.EpochAuthenticator
		}
		if !left {
			c.out.OwnIndex = uint32(ns.me())
		}
	}
	puts, err := c.fn(&c.out)
	if err != nil {
		return fmt.Errorf("%s: attach: %w", b.Op, err)
	}
	for _, p := range puts {
		switch p.Key.Kind {
		case KindState, KindEpochSecrets, KindKeys, "":
			return fmt.Errorf("%s: attach: component kind %q is the engine's", b.Op, p.Key.Kind)
		}
	}
	b.Puts = append(b.Puts, puts...)
	return nil
}

// treeMembers lists the members of t in leaf order.
func treeMembers(ids *identityCache, t *tree.Tree) []Member {
	var out []Member
	t.Members(func(l tree.LeafIndex, leaf *wire.LeafNode) bool {
		out = append(out, memberOf(ids, l, leaf))
		return true
	})
	return out
}

// noteResult records what Process found for the operation's Attach.
func (g *Group) noteResult(res *Result) {
	if out := g.call.outcome(); out != nil {
		out.Result = res
	}
}
