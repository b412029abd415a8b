package uploader

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"
)

// DefaultOrphanAge is how old an orphan (a snapshot object without a
// manifest) must be before Prune deletes it, if [Retention] does not say.
const DefaultOrphanAge = 24 * time.Hour

// Retention says which snapshots of each group [Backup.Prune] keeps. A
// snapshot is kept if any rule keeps it; the newest complete snapshot of
// every group is always kept.
type Retention struct {
	// KeepLast keeps the newest KeepLast snapshots of each group (by
	// epoch, then creation time).
	KeepLast int
	// KeepWithin keeps every snapshot created within this duration of now.
	KeepWithin time.Duration
	// OrphanAge: orphans older than this (by the time in their key and
	// their modification time) are deleted; younger ones may be uploads in
	// progress and are left. Zero means [DefaultOrphanAge].
	OrphanAge time.Duration
}

// PruneReport says what Prune deleted, or would delete in a dry run.
type PruneReport struct {
	DryRun bool
	// Kept and Deleted list complete snapshots, sorted.
	Kept    []Ref
	Deleted []Ref
	// Orphans are the data keys of orphans deleted; YoungOrphans those
	// left because they may still be being uploaded.
	Orphans      []string
	YoungOrphans []string
	// Unknown lists keys under the groups prefix that do not follow the
	// layout; Prune never touches them.
	Unknown []string
}

// Prune applies r to every group. It deletes a snapshot's manifest first
// (so it leaves List at once) and then its data; a crash in between leaves
// an orphan that a later Prune removes. With dryRun it deletes nothing and
// reports what it would delete. A non-dry run needs the prefix's lease.
// On a deletion error it stops and returns the report so far with the
// error.
func (b *Backup) Prune(ctx context.Context, r Retention, dryRun bool) (PruneReport, error) {
	rep := PruneReport{DryRun: dryRun}
	switch {
	case r.KeepLast < 0 || r.KeepWithin < 0 || r.OrphanAge < 0:
		return rep, fmt.Errorf("uploader: negative retention %+v", r)
	case r.KeepLast == 0 && r.KeepWithin == 0:
		return rep, ErrNoRetention
	}
	if r.OrphanAge == 0 {
		r.OrphanAge = DefaultOrphanAge
	}
	if !dryRun {
		if err := b.ensureLease(ctx); err != nil {
			return rep, err
		}
	}
	res, err := b.scan(ctx, nil)
	if err != nil {
		return rep, err
	}
	rep.Unknown = res.unknown
	now := b.opts.Now()
	noData := make(map[string]bool, len(res.noData))
	for _, ref := range res.noData {
		noData[ref.Key] = true
	}
	// res.complete is sorted by group then age; walk each group newest first.
	for end := len(res.complete); end > 0; {
		start := end - 1
		for start > 0 && bytes.Equal(res.complete[start-1].GroupID, res.complete[end-1].GroupID) {
			start--
		}
		keptWithData := false
		for i, n := end-1, 0; i >= start; i, n = i-1, n+1 {
			ref := res.complete[i]
			keep := n == 0 || n < r.KeepLast || now.Sub(ref.Created) <= r.KeepWithin ||
				(!keptWithData && !noData[ref.Key])
			if keep {
				rep.Kept = append(rep.Kept, ref)
				keptWithData = keptWithData || !noData[ref.Key]
				continue
			}
			rep.Deleted = append(rep.Deleted, ref)
		}
		end = start
	}
	sortRefs(rep.Kept)
	sortRefs(rep.Deleted)
	for _, o := range res.orphans {
		old := now.Sub(o.ref.Created) > r.OrphanAge && (o.info.ModTime.IsZero() || now.Sub(o.info.ModTime) > r.OrphanAge)
		if old {
			rep.Orphans = append(rep.Orphans, o.ref.DataKey)
		} else {
			rep.YoungOrphans = append(rep.YoungOrphans, o.ref.DataKey)
		}
	}
	if dryRun {
		return rep, nil
	}
	for _, ref := range rep.Deleted {
		if err := b.store.Delete(ctx, ref.Key); err != nil {
			return rep, objErr("prune", ref.Key, err)
		}
		if ref.Inline() {
			// The manifest was the whole snapshot.
		} else if err := b.store.Delete(ctx, ref.DataKey); err != nil {
			return rep, objErr("prune", ref.DataKey, err)
		}
		b.log.Info("pruned snapshot", "group", ref.GroupHex(), "epoch", ref.Epoch, "key", ref.Key)
	}
	for _, key := range rep.Orphans {
		if err := b.store.Delete(ctx, key); err != nil {
			return rep, objErr("prune orphan", key, err)
		}
		b.log.Info("pruned orphan", "key", key)
	}
	return rep, nil
}

func sortRefs(refs []Ref) { slices.SortFunc(refs, compareRefs) }
