package agent

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// Receive processes any incoming MLSMessage: a group's PublicMessage or
// PrivateMessage (application data, proposal or commit), or a Welcome,
// which joins the group (tree, if not nil, is its ratchet tree out of band).
// What it carried is stored in the outbox in the batch that consumes it,
// keyed by the message: delivering the same message again returns the
// stored answer until the application acknowledges it.
func (a *Agent) Receive(ctx context.Context, msg, tree []byte) (ReceiveResponse, error) {
	done, err := a.begin()
	if err != nil {
		return ReceiveResponse{}, err
	}
	defer done()
	m, err := wire.ParseMLSMessage(msg, engine.DefaultMaxMessageSize)
	if err != nil {
		return ReceiveResponse{}, fmt.Errorf("receive: %w: %w", engine.ErrMalformed, err)
	}
	var group []byte
	switch m.WireFormat {
	case wire.WireFormatPublicMessage:
		group = m.PublicMessage.Content.GroupID
	case wire.WireFormatPrivateMessage:
		group = m.PrivateMessage.GroupID
	case wire.WireFormatWelcome:
		return outboxed(ctx, a.outbox, "receive", "", msg, requestHash("receive", msg), func(c *outboxCall) (ReceiveResponse, error) {
			var resp ReceiveResponse
			_, err := a.join(ctx, msg, tree, c.attach(func(o *engine.Outcome) (any, error) {
				resp = ReceiveResponse{GroupID: hex.EncodeToString(o.GroupID), Kind: "welcome", Epoch: o.Epoch}
				return resp, nil
			}))
			return resp, err
		})
	default:
		return ReceiveResponse{}, fmt.Errorf("receive: wire format %d is not a message to process: %w", m.WireFormat, engine.ErrMalformed)
	}
	return outboxed(ctx, a.outbox, "receive", "", msg, requestHash("receive", msg), func(c *outboxCall) (ReceiveResponse, error) {
		var resp ReceiveResponse
		err := a.withGroup(ctx, group, func(e *groupEntry) error {
			before := e.g.Members()
			res, err := e.g.Process(ctx, msg, c.attach(func(o *engine.Outcome) (any, error) {
				resp = receiveResponse(group, before, o.Result, o.Members)
				return resp, nil
			}))
			if err != nil {
				return fmt.Errorf("receive: %w", err)
			}
			if res.Kind == engine.ContentCommit {
				a.noteEpoch(ctx, e, group, e.g.Epoch())
			}
			return nil
		})
		return resp, err
	})
}

// receiveResponse describes what a processed message carried; before and
// after are the group's members around the transition.
func receiveResponse(group []byte, before []engine.Member, res *engine.Result, after []engine.Member) ReceiveResponse {
	resp := ReceiveResponse{GroupID: hex.EncodeToString(group), Epoch: res.Epoch, Sender: res.Sender, AuthenticatedData: res.AuthenticatedData}
	if res.SenderType == 1 {
		for _, mb := range before {
			if mb.Index == res.Sender {
				resp.SenderIdentity = displayIdentity(mb.Identity)
			}
		}
	}
	switch res.Kind {
	case engine.ContentApplication:
		resp.Kind, resp.Data = "application", res.ApplicationData
	case engine.ContentProposal:
		resp.Kind = "proposal"
	case engine.ContentCommit:
		resp.Kind = "commit"
		if c := res.Commit; c != nil {
			resp.Epoch = c.Epoch
			resp.Commit = &CommitSummary{Epoch: c.Epoch, Added: members(c.Added), Removed: members(c.Removed),
				Committer: c.Committer, SelfRemoved: c.SelfRemoved}
			if res.SenderType == senderNewMemberCommit {
				// An external commit adds its sender without an Add
				// proposal; the sender is the joiner at its new leaf.
				if len(c.Added) == 0 {
					resp.Commit.Added = joined(before, after)
				}
				resp.Sender = c.Committer
				for _, mb := range after {
					if mb.Index == c.Committer {
						resp.SenderIdentity = string(mb.Identity)
					}
				}
			}
		}
	}
	return resp
}

// Join joins a group from a Welcome; the answer is kept in the outbox,
// keyed by the Welcome.
func (a *Agent) Join(ctx context.Context, welcome, tree []byte) (GroupInfo, error) {
	done, err := a.begin()
	if err != nil {
		return GroupInfo{}, err
	}
	defer done()
	return outboxed(ctx, a.outbox, "join", "", welcome, requestHash("join", welcome), func(c *outboxCall) (GroupInfo, error) {
		var info GroupInfo
		_, err := a.join(ctx, welcome, tree, c.attach(func(o *engine.Outcome) (any, error) {
			info = groupInfoOf(o)
			return info, nil
		}))
		return info, err
	})
}

func (a *Agent) join(ctx context.Context, welcome, tree []byte, attach engine.Attach) (*engine.Group, error) {
	g, err := a.client.JoinFromWelcome(ctx, welcome, tree, attach)
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	a.adopt(ctx, g)
	return g, nil
}

// adopt puts a group just joined into the table and tells the scheduler.
func (a *Agent) adopt(ctx context.Context, g *engine.Group) {
	_ = a.withEntry(g.GroupID(), func(e *groupEntry) error {
		e.g, e.pending = g, nil
		a.noteEpoch(ctx, e, g.GroupID(), g.Epoch())
		return nil
	})
	a.log.Info("joined group", "group", hex.EncodeToString(g.GroupID()), "epoch", g.Epoch())
}

// JoinExternal joins a group by external commit from its GroupInfo; the
// commit in the response must be delivered to the members, and is kept in
// the outbox until acknowledged. key is the call's idempotency key (may be
// empty).
func (a *Agent) JoinExternal(ctx context.Context, key string, groupInfo, tree []byte, resyncLeaf *uint32) (ExternalJoinResponse, error) {
	done, err := a.begin()
	if err != nil {
		return ExternalJoinResponse{}, err
	}
	defer done()
	var leaf []byte
	if resyncLeaf != nil {
		leaf = fmt.Append(nil, *resyncLeaf)
	}
	return outboxed(ctx, a.outbox, "external_join", key, nil, requestHash("external_join", groupInfo, tree, leaf), func(c *outboxCall) (ExternalJoinResponse, error) {
		var resp ExternalJoinResponse
		g, _, err := a.client.JoinByExternalCommit(ctx, groupInfo, tree, resyncLeaf, c.attach(func(o *engine.Outcome) (any, error) {
			resp = ExternalJoinResponse{Group: groupInfoOf(o), Commit: o.Message}
			return resp, nil
		}))
		if err != nil {
			return ExternalJoinResponse{}, fmt.Errorf("external join: %w", err)
		}
		a.adopt(ctx, g)
		return resp, nil
	})
}

// senderNewMemberCommit is RFC 9420's sender type of an external commit.
const senderNewMemberCommit = 4

// joined returns the members of after that were not in before (by leaf
// index and signature key).
func joined(before, after []engine.Member) []Member {
	seen := map[string]bool{}
	for _, m := range before {
		seen[fmt.Sprint(m.Index, "/", string(m.SignatureKey))] = true
	}
	var out []Member
	for _, m := range after {
		if !seen[fmt.Sprint(m.Index, "/", string(m.SignatureKey))] {
			out = append(out, memberOf(m))
		}
	}
	return out
}
