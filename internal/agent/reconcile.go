package agent

import (
	"context"
	"fmt"
	"sync"

	"github.com/mlsbackup/mlsbackup/schedule"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// reconciler is the agent's destination side for the scheduler: it
// reconciles what the agent knows of the destination with a listing, and
// applies retention there.
type reconciler struct {
	a *Agent
	// mu serializes retention runs (after a pass and after a
	// reconciliation that end together).
	mu sync.Mutex
	// needMu guards need: for each group the last reconciliation found
	// missing, the epoch the destination must hold (or a later one).
	needMu sync.Mutex
	need   map[string]uint64
}

var (
	_ schedule.Reconciler = (*reconciler)(nil)
	_ schedule.Retainer   = (*reconciler)(nil)
)

// Reconcile implements [schedule.Reconciler]. It lists the destination and
// makes the listing what the agent knows (status, metrics, and the
// snapshots not to upload again), then returns every stored group whose
// newest snapshot is missing there. A group's newest snapshot is the
// newest of: the one known before this listing (the last listing or an
// upload of this process), its newest local snapshot file, and, with
// snapshot.every_epochs N, its epoch's last multiple of N. It is missing
// if the destination holds no snapshot of that epoch or a later one; the
// group is then snapshotted afresh. A listing that fails changes nothing.
func (r *reconciler) Reconcile(ctx context.Context) ([][]byte, error) {
	a := r.a
	mark := a.uploads.mark()
	refs, err := a.backup.ListRefs(ctx, nil)
	if err != nil {
		a.metrics.reconcile.WithLabelValues("failed").Inc()
		return nil, fmt.Errorf("list %s: %w", a.backup, err)
	}
	a.metrics.reconcile.WithLabelValues("ok").Inc()
	prev := a.uploads.replace(refs, mark, nil)
	a.metrics.destinationKnown(prev, a.uploads.latestAll())

	groups, err := lister{a}.Groups(ctx)
	if err != nil {
		return nil, err
	}
	every := a.Config().Snapshot.EveryEpochs
	var missing [][]byte
	needs := map[string]uint64{}
	for _, g := range groups {
		need, found := uint64(0), false
		if u, ok := prev[string(g.ID)]; ok {
			need, found = u.Epoch, true
		}
		if epochs, err := a.store.ListSnapshots(ctx, g.ID); err == nil && len(epochs) > 0 {
			need, found = max(need, epochs[len(epochs)-1]), true
		}
		if every > 0 && g.Epoch >= every {
			need, found = max(need, g.Epoch/every*every), true
		}
		if !found || (g.Uploaded && g.UploadedEpoch >= need) {
			continue
		}
		missing = append(missing, g.ID)
		needs[string(g.ID)] = need
	}
	r.needMu.Lock()
	r.need = needs
	r.needMu.Unlock()
	a.metrics.missing.Add(float64(len(missing)))
	return missing, nil
}

// covered reports whether what the last reconciliation found missing of
// group is uploaded since or among pending, snapshots about to be
// uploaded (an epoch snapshot that was queued or running meanwhile).
func (r *reconciler) covered(group []byte, pending []exported) bool {
	r.needMu.Lock()
	need, ok := r.need[string(group)]
	r.needMu.Unlock()
	if !ok {
		return true
	}
	if u, up := r.a.uploads.get(group); up && u.Epoch >= need {
		return true
	}
	return len(pending) > 0 && pending[len(pending)-1].info.Epoch >= need
}

// pruneGroupsShare: a pass that snapshotted fewer than 1/pruneGroupsShare
// of the groups at the destination is followed by a retention of those
// groups alone (one small listing each); a larger one by a retention of
// the whole destination (one listing, in pages of a thousand keys).
const pruneGroupsShare = 10

// Retain implements [schedule.Retainer]: it applies the configured
// retention with the prune command's code, under the prefix's lease: to
// the few groups a pass snapshotted with [uploader.Backup.PruneGroups],
// or to the whole destination with [uploader.Backup.Prune] (after a
// reconciliation, a pass that snapshotted many groups, or any pass when
// retention.max_age is set, so that no group's snapshots outlive it). A
// group this agent no longer stores is not live: past max_age it loses
// its last snapshot too. What remains is what the agent then knows of
// those groups.
func (r *reconciler) Retain(ctx context.Context, groups [][]byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.a
	release, err := a.bg.acquire(ctx)
	if err != nil {
		return fmt.Errorf("apply retention: %w", err)
	}
	defer release()
	cfg := a.Config().Retention
	ret := uploader.Retention{KeepLast: cfg.KeepLast, KeepWithin: cfg.KeepWithin, MaxAge: cfg.MaxAge}
	if len(groups)*pruneGroupsShare > a.uploads.len() || cfg.MaxAge > 0 {
		groups = nil
	}
	if cfg.MaxAge > 0 {
		stored, err := a.storedGroups(ctx)
		if err != nil {
			return fmt.Errorf("apply retention: %w", err)
		}
		live := make(map[string]bool, len(stored))
		for _, id := range stored {
			live[string(id)] = true
		}
		ret.Live = func(id []byte) bool { return live[string(id)] }
	}
	mark := a.uploads.mark()
	var rep uploader.PruneReport
	if groups == nil {
		rep, err = a.backup.Prune(ctx, ret, false)
	} else {
		rep, err = a.backup.PruneGroups(ctx, ret, groups)
	}
	if err != nil {
		a.metrics.retention.WithLabelValues("failed").Inc()
		return fmt.Errorf("apply retention at %s: %w", a.backup, err)
	}
	a.metrics.retention.WithLabelValues("ok").Inc()
	a.metrics.pruned.Add(float64(len(rep.Deleted)))
	prev := a.uploads.replace(rep.Kept, mark, groups)
	a.metrics.destinationKnown(prev, a.uploads.latestAll())
	if len(rep.Deleted)+len(rep.Orphans) > 0 {
		a.log.Info("retention applied", "all_groups", groups == nil, "kept", len(rep.Kept), "deleted", len(rep.Deleted), "orphans_deleted", len(rep.Orphans))
	}
	return nil
}
