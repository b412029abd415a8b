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
// snapshot is kept if any rule keeps it and MaxAge does not delete it, and
// so is every snapshot newer than one kept that MaxAge does not delete; the
// newest complete snapshot of every group is kept unless MaxAge deletes it
// (never for a live group).
type Retention struct {
	// KeepLast keeps the newest KeepLast snapshots of each group (by
	// epoch, then creation time).
	KeepLast int
	// KeepWithin keeps every snapshot created within this duration of now.
	KeepWithin time.Duration
	// MaxAge, if positive, deletes every snapshot created longer ago than
	// this, whatever KeepLast and KeepWithin say, except the newest
	// complete snapshot (with data) of a live group: a snapshot holds the
	// member's secrets, so MaxAge bounds how long the bucket keeps them.
	MaxAge time.Duration
	// Live reports whether a group is still held by its member; nil
	// counts every group as live. A group that is not live (its member
	// left it or was removed) loses its last snapshot too once it is
	// older than MaxAge.
	Live func(groupID []byte) bool
	// OrphanAge: orphans older than this (by the time in their key and
	// their modification time) are deleted; younger ones may be uploads in
	// progress and are left. Temporary files of a [TempCleaner] store
	// last written longer ago than this are removed too. Zero means
	// [DefaultOrphanAge].
	OrphanAge time.Duration
}

// TempCleaner is an [ObjectStore] that writes an object through a
// temporary file of its own (a local directory): a writer killed mid-write
// leaves that file behind, outside every object. [Backup.Prune] removes
// those under its prefix last written before now minus
// Retention.OrphanAge (a write in flight keeps its file fresh).
type TempCleaner interface {
	// CleanTemps removes the temporary files below key prefix last
	// written before cutoff, or with dryRun only lists them, and returns
	// their names (also on an error: those removed so far).
	CleanTemps(ctx context.Context, prefix string, cutoff time.Time, dryRun bool) ([]string, error)
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
	// StaleTemps are the temporary files of interrupted writes removed
	// (a [TempCleaner] store only); younger ones are left unreported.
	StaleTemps []string
	// Unknown lists keys under the groups prefix that do not follow the
	// layout; Prune never touches them.
	Unknown []string
}

// Prune applies r to every group. It deletes a snapshot's manifest first
// (so it leaves List at once) and then its data; a crash in between leaves
// an orphan that a later Prune removes. On a [TempCleaner] store it also
// removes the stale temporary files of interrupted writes. With dryRun it deletes nothing and
// reports what it would delete. A non-dry run needs the prefix's lease.
// On a deletion error it stops and returns the report so far with the
// error.
func (b *Backup) Prune(ctx context.Context, r Retention, dryRun bool) (PruneReport, error) {
	return b.prune(ctx, r, dryRun, nil)
}

// PruneGroups is [Backup.Prune] restricted to the given groups: it lists
// each group's snapshots (with bounded concurrency, one listing per group)
// instead of the whole prefix, applies r to them and deletes what r no
// longer keeps and their old orphans. It leaves temporary files alone. It
// suits a writer that just uploaded to a few groups of many; with no
// groups it does nothing.
func (b *Backup) PruneGroups(ctx context.Context, r Retention, groups [][]byte) (PruneReport, error) {
	if len(groups) == 0 {
		return PruneReport{}, nil
	}
	return b.prune(ctx, r, false, groups)
}

// prune is Prune of the whole prefix (groups nil), or of groups.
func (b *Backup) prune(ctx context.Context, r Retention, dryRun bool, groups [][]byte) (PruneReport, error) {
	rep := PruneReport{DryRun: dryRun}
	switch {
	case r.KeepLast < 0 || r.KeepWithin < 0 || r.OrphanAge < 0 || r.MaxAge < 0:
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
	var (
		res scanResult
		err error
	)
	if groups == nil {
		res, err = b.scan(ctx, nil)
	} else {
		res, err = b.scanGroups(ctx, groups)
	}
	if err != nil {
		return rep, err
	}
	rep.Unknown = res.unknown
	now := b.opts.Now()
	cleanTemps := func() error {
		if groups != nil {
			return nil
		}
		return b.cleanTemps(ctx, &rep, now.Add(-r.OrphanAge))
	}
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
		// The snapshots kept are the newest ones down to the oldest a rule
		// keeps: never one older than a deleted one, so that the chain of
		// the group's signed manifests has no gap (see doc.go, "Chain and
		// head"). MaxAge is the exception: it bounds how long a backup keeps
		// secrets, and since creation times grow along the chain, what it
		// deletes is the chain's oldest part.
		oldest, keptWithData := end, false
		ruled := make(map[int]bool)
		live := r.Live == nil || r.Live(res.complete[start].GroupID)
		expired := func(ref Ref) bool { return r.MaxAge > 0 && now.Sub(ref.Created) > r.MaxAge }
		for i, n := end-1, 0; i >= start; i, n = i-1, n+1 {
			ref := res.complete[i]
			age := now.Sub(ref.Created)
			old := expired(ref)
			newest := n == 0 || (!keptWithData && !noData[ref.Key])
			if (newest && (live || !old)) || (!old && (n < r.KeepLast || age <= r.KeepWithin)) {
				oldest, ruled[i] = i, true
				keptWithData = keptWithData || !noData[ref.Key]
			}
		}
		for i := start; i < end; i++ {
			ref := res.complete[i]
			if i >= oldest && (ruled[i] || !expired(ref)) {
				rep.Kept = append(rep.Kept, ref)
			} else {
				rep.Deleted = append(rep.Deleted, ref)
			}
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
		return rep, cleanTemps()
	}
	for _, ref := range rep.Deleted {
		if err := b.deleteSnapshot(ctx, "prune", ref); err != nil {
			return rep, err
		}
		b.log.Info("pruned snapshot", "group", ref.GroupHex(), "epoch", ref.Epoch, "key", ref.Key)
	}
	for _, key := range rep.Orphans {
		if err := b.store.Delete(ctx, key); err != nil {
			return rep, objErr("prune orphan", key, err)
		}
		b.log.Info("pruned orphan", "key", key)
	}
	return rep, cleanTemps()
}

// cleanTemps removes (lists, in a dry run) the store's temporary files
// under the prefix last written before cutoff into rep.StaleTemps.
func (b *Backup) cleanTemps(ctx context.Context, rep *PruneReport, cutoff time.Time) error {
	tc, ok := b.store.(TempCleaner)
	if !ok {
		return nil
	}
	names, err := tc.CleanTemps(ctx, b.layout.join(), cutoff, rep.DryRun) // "<prefix>/", or ""
	rep.StaleTemps = names
	if !rep.DryRun {
		for _, n := range names {
			b.log.Info("pruned temporary file of an interrupted write", "file", n)
		}
	}
	if err != nil {
		return fmt.Errorf("prune temporary files: %w", err)
	}
	return nil
}

func sortRefs(refs []Ref) { slices.SortFunc(refs, compareRefs) }
