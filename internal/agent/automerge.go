package agent

import (
	"context"
	"encoding/hex"

	"github.com/mlsbackup/mlsbackup/engine"
)

// A commit the agent creates and merges in one request (the CLI's default)
// is one engine transition (engine.CommitOptions.Merge): the new epoch and
// the commit, stored in the outbox for the application to deliver, are one
// durable batch. A process killed at any instant leaves the group either
// before the request (nothing stored, nothing to clean up at start) or in
// the new epoch with the commit in the outbox: never a merged commit that
// nobody can find, never a pending commit nobody received. A commit made
// with no_merge is stored as pending, with its answer in the outbox, and
// stays pending across restarts until the application merges or clears it.

// createCommit creates a commit with o in e's group and, unless noMerge,
// merges it in the same batch; resp receives the answer, which is stored
// in the outbox by call c. The caller holds e.mu with the group loaded.
func (a *Agent) createCommit(ctx context.Context, e *groupEntry, o engine.CommitOptions, noMerge bool, c *outboxCall, resp *CommitResponse) error {
	o.Merge = !noMerge
	o.Attach = c.attach(func(out *engine.Outcome) (any, error) {
		*resp = CommitResponse{GroupID: hex.EncodeToString(out.GroupID), Commit: out.Message, Welcome: out.Welcome,
			RatchetTree: out.RatchetTree, Epoch: out.Epoch, Merged: !noMerge}
		if noMerge {
			resp.Epoch++ // the epoch the pending commit leads to
		}
		return *resp, nil
	})
	_, err := e.g.Commit(ctx, o)
	return err
}
