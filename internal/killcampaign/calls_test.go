package killcampaign

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/mlsbackup/mlsbackup/internal/agent"
)

// call is one request under test: made, killed, retried after the
// restart with the same idempotency key (a receive: the same message),
// and its answer delivered.
type call struct {
	kind string // campaign kind
	op   string // the op of its outbox entry
	key  string // idempotency key ("" for a receive: the message is the key)
	// do makes the request and returns the answer as JSON.
	do func(ctx context.Context, c *agent.Client) ([]byte, error)
	// canon returns the canonical JSON of an answer (also of an outbox
	// entry's response), for comparison.
	canon func(raw []byte) (string, error)
	// settle checks an answer and delivers what it carries; it is called
	// once per distinct answer.
	settle func(ctx context.Context, raw []byte) error
}

// newCall builds a call whose answers are R.
func newCall[R any](kind, op, key string, do func(context.Context, *agent.Client) (R, error), settle func(context.Context, R) error) *call {
	return &call{kind: kind, op: op, key: key,
		do: func(ctx context.Context, c *agent.Client) ([]byte, error) {
			r, err := do(ctx, c)
			if err != nil {
				return nil, err
			}
			return json.Marshal(r)
		},
		canon: func(raw []byte) (string, error) {
			var r R
			if err := json.Unmarshal(raw, &r); err != nil {
				return "", fmt.Errorf("decode %s answer: %w", op, err)
			}
			b, err := json.Marshal(r)
			return string(b), err
		},
		settle: func(ctx context.Context, raw []byte) error {
			var r R
			if err := json.Unmarshal(raw, &r); err != nil {
				return fmt.Errorf("decode %s answer: %w", op, err)
			}
			return settle(ctx, r)
		},
	}
}

// The campaign's kinds of calls.
const (
	kindSend          = "send"
	kindReceiveApp    = "receive-message"
	kindReceiveCommit = "receive-commit"
	kindUpdate        = "update"
	kindAdd           = "add"
	kindRemove        = "remove"
	kindExternalJoin  = "external-join"
	kindRestore       = "restore"
	kindRecovery      = "recovery"
)

// sendCall: alice encrypts a message; bob, carol (and dave) decrypt it.
func (w *world) sendCall(seq int) *call {
	data := fmt.Appendf(nil, "alice says %d", seq)
	return newCall(kindSend, "send", fmt.Sprintf("send-%d", seq),
		func(ctx context.Context, c *agent.Client) (agent.SendResponse, error) {
			return c.Send(ctx, w.gid, agent.SendRequest{Data: data, IdempotencyKey: fmt.Sprintf("send-%d", seq)})
		},
		func(ctx context.Context, r agent.SendResponse) error { return w.aliceMessage(ctx, r.Message, data) })
}

// receiveAppCall: bob encrypts a message; alice receives it.
func (w *world) receiveAppCall(ctx context.Context, seq int) (*call, error) {
	data := fmt.Appendf(nil, "bob says %d", seq)
	msg, err := w.bob.g.Encrypt(ctx, data, nil)
	if err != nil {
		return nil, fmt.Errorf("bob: encrypt: %w", err)
	}
	return newCall(kindReceiveApp, "receive", "",
		func(ctx context.Context, c *agent.Client) (agent.ReceiveResponse, error) {
			return c.Receive(ctx, agent.ReceiveRequest{Message: msg})
		},
		func(_ context.Context, r agent.ReceiveResponse) error {
			if r.Kind != "application" || !bytes.Equal(r.Data, data) || r.SenderIdentity != "bob" {
				return fmt.Errorf("alice received %s %q from %q, want bob's application message %q", r.Kind, r.Data, r.SenderIdentity, data)
			}
			return nil
		}), nil
}

// receiveCommitCall: bob commits a self-update; alice receives it.
func (w *world) receiveCommitCall(ctx context.Context) (*call, error) {
	msg, err := w.peerCommit(ctx)
	if err != nil {
		return nil, err
	}
	epoch := w.bob.g.Epoch()
	return newCall(kindReceiveCommit, "receive", "",
		func(ctx context.Context, c *agent.Client) (agent.ReceiveResponse, error) {
			return c.Receive(ctx, agent.ReceiveRequest{Message: msg})
		},
		func(_ context.Context, r agent.ReceiveResponse) error {
			if r.Kind != "commit" || r.Epoch != epoch {
				return fmt.Errorf("alice received %s of epoch %d, want bob's commit to epoch %d", r.Kind, r.Epoch, epoch)
			}
			return nil
		}), nil
}

// commitSettle delivers a commit alice created.
func (w *world) commitSettle(ctx context.Context, r agent.CommitResponse) error {
	if !r.Merged || r.GroupID != hex.EncodeToString(w.gid) {
		return fmt.Errorf("commit answer %+v: want a merged commit of the group", r)
	}
	return w.aliceCommit(ctx, r.Commit, r.Welcome)
}

// updateCall: alice commits a self-update (create-and-merge).
func (w *world) updateCall(seq int) *call {
	key := fmt.Sprintf("update-%d", seq)
	return newCall(kindUpdate, "commit", key,
		func(ctx context.Context, c *agent.Client) (agent.CommitResponse, error) {
			return c.Update(ctx, w.gid, agent.UpdateRequest{IdempotencyKey: key})
		}, w.commitSettle)
}

// addCall: alice adds dave (create-and-merge); dave joins from the Welcome.
func (w *world) addCall(ctx context.Context, seq int) (*call, error) {
	kp, err := w.dave.keyPackage(ctx)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("add-%d", seq)
	return newCall(kindAdd, "commit", key,
		func(ctx context.Context, c *agent.Client) (agent.CommitResponse, error) {
			return c.Add(ctx, w.gid, agent.AddRequest{KeyPackages: [][]byte{kp}, IdempotencyKey: key})
		}, w.commitSettle), nil
}

// removeCall: alice removes dave (create-and-merge, after the snapshot
// the agent takes before a removal).
func (w *world) removeCall(seq int) *call {
	key := fmt.Sprintf("remove-%d", seq)
	return newCall(kindRemove, "commit", key,
		func(ctx context.Context, c *agent.Client) (agent.CommitResponse, error) {
			return c.Remove(ctx, w.gid, agent.RemoveRequest{Members: []string{"dave"}, IdempotencyKey: key})
		}, w.commitSettle)
}

// externalJoinCall: alice re-joins by external commit from bob's
// GroupInfo, removing her own leaf (resync).
func (w *world) externalJoinCall(ctx context.Context, seq int, ownLeaf uint32) (*call, error) {
	gi, err := w.bob.g.GroupInfo(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("bob: group info: %w", err)
	}
	key := fmt.Sprintf("external-join-%d", seq)
	return newCall(kindExternalJoin, "external_join", key,
		func(ctx context.Context, c *agent.Client) (agent.ExternalJoinResponse, error) {
			return c.JoinExternal(ctx, agent.ExternalJoinRequest{GroupInfo: gi, ResyncLeaf: &ownLeaf, IdempotencyKey: key})
		},
		func(ctx context.Context, r agent.ExternalJoinResponse) error {
			if r.Group.GroupID != hex.EncodeToString(w.gid) {
				return fmt.Errorf("external join answered group %s", r.Group.GroupID)
			}
			return w.aliceCommit(ctx, r.Commit, nil)
		}), nil
}
