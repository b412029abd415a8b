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
		info, err := a.join(ctx, msg, tree)
		if err != nil {
			return ReceiveResponse{}, err
		}
		return ReceiveResponse{GroupID: info.GroupID, Kind: "welcome", Epoch: info.Epoch}, nil
	default:
		return ReceiveResponse{}, fmt.Errorf("receive: wire format %d is not a message to process: %w", m.WireFormat, engine.ErrMalformed)
	}
	resp := ReceiveResponse{GroupID: hex.EncodeToString(group)}
	err = a.withGroup(ctx, group, func(e *groupEntry) error {
		before := e.g.Members()
		res, err := e.g.Process(ctx, msg)
		if err != nil {
			return fmt.Errorf("receive: %w", err)
		}
		resp.Epoch, resp.Sender, resp.AuthenticatedData = res.Epoch, res.Sender, res.AuthenticatedData
		if res.SenderType == 1 {
			for _, mb := range before {
				if mb.Index == res.Sender {
					resp.SenderIdentity = string(mb.Identity)
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
				if len(c.Added) == 0 && res.SenderType == senderNewMemberCommit {
					// An external commit adds its sender without an Add proposal.
					resp.Commit.Added = joined(before, e.g.Members())
				}
			}
			a.noteEpoch(ctx, e, group, e.g.Epoch())
		}
		return nil
	})
	return resp, err
}

// Join joins a group from a Welcome.
func (a *Agent) Join(ctx context.Context, welcome, tree []byte) (GroupInfo, error) {
	done, err := a.begin()
	if err != nil {
		return GroupInfo{}, err
	}
	defer done()
	return a.join(ctx, welcome, tree)
}

func (a *Agent) join(ctx context.Context, welcome, tree []byte) (GroupInfo, error) {
	g, err := a.client.JoinFromWelcome(ctx, welcome, tree)
	if err != nil {
		return GroupInfo{}, fmt.Errorf("join: %w", err)
	}
	return a.adopt(ctx, g), nil
}

// adopt puts a group just joined into the table and tells the scheduler.
func (a *Agent) adopt(ctx context.Context, g *engine.Group) GroupInfo {
	var info GroupInfo
	_ = a.withEntry(g.GroupID(), func(e *groupEntry) error {
		e.g, e.pending = g, nil
		a.noteEpoch(ctx, e, g.GroupID(), g.Epoch())
		info = a.describe(g)
		return nil
	})
	a.log.Info("joined group", "group", info.GroupID, "epoch", info.Epoch)
	return info
}

// JoinExternal joins a group by external commit from its GroupInfo; the
// commit in the response must be delivered to the members.
func (a *Agent) JoinExternal(ctx context.Context, groupInfo, tree []byte, resyncLeaf *uint32) (ExternalJoinResponse, error) {
	done, err := a.begin()
	if err != nil {
		return ExternalJoinResponse{}, err
	}
	defer done()
	g, commit, err := a.client.JoinByExternalCommit(ctx, groupInfo, tree, resyncLeaf)
	if err != nil {
		return ExternalJoinResponse{}, fmt.Errorf("external join: %w", err)
	}
	return ExternalJoinResponse{Group: a.adopt(ctx, g), Commit: commit}, nil
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
			out = append(out, Member{Index: m.Index, Identity: string(m.Identity)})
		}
	}
	return out
}
