package agent

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/localstore"
)

// A commit the agent creates and merges in one request (the CLI's default)
// is two durable steps: the commit is stored as pending, then merged. The
// commit reaches the application only after the merge, so a pending commit
// left by a process killed in between was never delivered to anyone:
// merging it would fork the group, keeping it would block the group's next
// commit with "pending commit". The agent marks such a request in the
// write-ahead log (an operation begun without input, at no fsync cost: the
// commit's own batch makes it durable) and finishes the mark after the
// merge. Recovery reports a mark that never finished as a dropped
// operation; at start the agent then clears the group's pending commit if
// the group is still at the marked epoch (it never merged). A pending
// commit made with no_merge is never marked, so it survives restarts until
// the application merges or clears it.

// autoMergePrefix starts the log operation kind of a create-and-merge mark:
// "AutoMerge/<group hex>/<epoch>".
const autoMergePrefix = "AutoMerge/"

func autoMergeKind(group []byte, epoch uint64) string {
	return autoMergePrefix + hex.EncodeToString(group) + "/" + strconv.FormatUint(epoch, 10)
}

// parseAutoMergeKind reads a mark's kind; ok is false for other kinds.
func parseAutoMergeKind(kind string) (group []byte, epoch uint64, ok bool) {
	rest, ok := strings.CutPrefix(kind, autoMergePrefix)
	if !ok {
		return nil, 0, false
	}
	gh, eh, ok := strings.Cut(rest, "/")
	if !ok {
		return nil, 0, false
	}
	group, err := hex.DecodeString(gh)
	if err != nil || len(group) == 0 {
		return nil, 0, false
	}
	epoch, err = strconv.ParseUint(eh, 10, 64)
	if err != nil {
		return nil, 0, false
	}
	return group, epoch, true
}

// createCommit creates a commit with o in e's group and, unless noMerge,
// merges it, marking the pair in the log (see above). The caller holds
// e.mu with the group loaded.
func (a *Agent) createCommit(ctx context.Context, e *groupEntry, id []byte, o engine.CommitOptions, noMerge bool) (*engine.CommitOutput, error) {
	var mark *localstore.Op
	if !noMerge && !e.g.HasPendingCommit() {
		op, err := a.store.Begin(ctx, autoMergeKind(id, e.g.Epoch()), nil)
		if err != nil {
			return nil, fmt.Errorf("mark commit: %w", err)
		}
		mark = op
		defer func() {
			if err := mark.Abort(context.WithoutCancel(ctx)); err != nil {
				a.log.Warn("finish commit mark", "group", fmt.Sprintf("%x", id), "err", err)
			}
		}()
	}
	out, err := e.g.Commit(ctx, o)
	if err != nil || noMerge {
		return out, err
	}
	if _, err := e.g.MergePendingCommit(ctx); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	return out, nil
}

// clearUnmergedCommits clears the pending commits that a killed
// create-and-merge request left (see above), before the agent serves.
func (a *Agent) clearUnmergedCommits(ctx context.Context, rep *localstore.RecoveryReport) {
	if rep == nil {
		return
	}
	for _, op := range rep.Dropped {
		id, epoch, ok := parseAutoMergeKind(op.Op)
		if !ok {
			continue
		}
		g, err := engine.LoadGroup(ctx, a.store, id, a.engOpts)
		if err != nil {
			a.log.Warn("recovery: load group of an unfinished commit", "group", fmt.Sprintf("%x", id), "err", err)
			continue
		}
		if !g.HasPendingCommit() || g.Epoch() != epoch {
			continue // the commit was never stored, or was merged
		}
		if err := g.ClearPendingCommit(ctx); err != nil {
			a.log.Error("recovery: clear an unmerged commit", "group", fmt.Sprintf("%x", id), "err", err)
			continue
		}
		a.metrics.recovery.WithLabelValues("cleared_commit").Inc()
		a.log.Warn("recovery: cleared a commit that was created but neither merged nor returned when the agent stopped; nobody received it",
			"group", fmt.Sprintf("%x", id), "epoch", epoch)
	}
}
