package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/schedule"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// exported is a snapshot exported from a consistent view of its group.
type exported struct {
	data []byte
	info engine.SnapshotInfo
}

// maxPending bounds the snapshots a group keeps waiting for upload; beyond
// it the oldest is dropped (a newer one covers its state).
const maxPending = 8

// noteEpoch tells the scheduler that the group of e reached epoch. When that
// asks for a snapshot, the snapshot is exported at once, with e's mutex held,
// so that the upload holds exactly this epoch even if the group moves on
// before it runs. The caller holds e.mu.
func (a *Agent) noteEpoch(ctx context.Context, e *groupEntry, group []byte, epoch uint64) {
	if !a.sched.get().EpochChanged(group, epoch) {
		return
	}
	data, info, err := engine.ExportSnapshot(ctx, a.store, group)
	if err != nil {
		// The scheduled snapshot exports afresh when it runs.
		a.log.Warn("export snapshot at epoch change", "group", fmt.Sprintf("%x", group), "epoch", epoch, "err", err)
		return
	}
	if len(e.pending) >= maxPending {
		a.log.Warn("dropping an older snapshot not yet uploaded", "group", fmt.Sprintf("%x", group), "epoch", e.pending[0].info.Epoch)
		e.pending = e.pending[1:]
	}
	e.pending = append(e.pending, exported{data: data, info: info})
}

// snapshot is the scheduler's Snapshotter. It uploads the snapshots exported
// at epoch changes and, unless those are all the trigger asked for, a fresh
// export taken with the group's mutex held (a consistent view). Each is kept
// as the local snapshot file and then uploaded with its epoch authenticator.
// A snapshot of an epoch already at the destination (as known from the
// last listing and this process's uploads since) is not uploaded again;
// the epoch returned is then that one. A reconciliation's snapshot is not
// taken if what it found missing has been uploaded since.
func (a *Agent) snapshot(ctx context.Context, group []byte, reason schedule.Reason) (uint64, error) {
	release, err := a.bg.snapshot(ctx, reason)
	if err != nil {
		return 0, fmt.Errorf("snapshot group %x: %w", group, err)
	}
	defer release()
	var (
		todo    []exported
		already uint64 // the epoch at the destination, if not exported
		skip    bool
	)
	err = a.withEntry(group, func(e *groupEntry) error {
		ok, err := a.exists(ctx, group)
		if err != nil {
			return err
		}
		if !ok {
			e.pending = nil
			return schedule.Permanent(fmt.Errorf("snapshot group %x: %w", group, ErrUnknownGroup))
		}
		todo, e.pending = e.pending, nil
		want := reason
		if want.Has(schedule.ReasonReconcile) && a.recon.covered(group, todo) {
			want &^= schedule.ReasonReconcile
		}
		onlyEpoch := want&^(schedule.ReasonEpoch|schedule.ReasonRetry) == 0
		if len(todo) > 0 && onlyEpoch {
			return nil
		}
		if len(todo) == 0 {
			if epoch, ok := a.nothingToAdd(group, e, want); ok {
				already, skip = epoch, true
				return nil
			}
		}
		data, info, err := engine.ExportSnapshot(ctx, a.store, group)
		if err != nil {
			e.pending = todo
			return fmt.Errorf("export snapshot of group %x: %w", group, err)
		}
		if n := len(todo); n == 0 || info.Epoch > todo[n-1].info.Epoch {
			todo = append(todo, exported{data: data, info: info})
		}
		return nil
	})
	if err != nil {
		a.metrics.failed.WithLabelValues("export").Inc()
		a.log.Error("snapshot failed", "group", fmt.Sprintf("%x", group), "reason", reason.String(), "err", err)
		return 0, err
	}
	if skip {
		a.skipped(group, already)
		return already, nil
	}
	if todo, already = a.notUploaded(group, todo); len(todo) == 0 {
		return already, nil
	}
	a.metrics.taken.Add(float64(len(todo)))
	for i, x := range todo {
		if err := a.upload(ctx, group, x, reason); err != nil {
			_ = a.withEntry(group, func(e *groupEntry) error {
				e.pending = append(append([]exported(nil), todo[i:]...), e.pending...)
				return nil
			})
			return 0, err
		}
	}
	return todo[len(todo)-1].info.Epoch, nil
}

// nothingToAdd reports whether a snapshot for want, with no snapshot
// exported at an epoch change pending, would add nothing to the
// destination, and the epoch there if so: the group's epoch is already
// there; or only a reconciliation asked, and what it found missing has
// been uploaded since; or only an epoch trigger asked (the start-up
// check, a trigger whose export was uploaded meanwhile), and the
// group's last multiple of snapshot.every_epochs is there. The caller
// holds e.mu.
func (a *Agent) nothingToAdd(group []byte, e *groupEntry, want schedule.Reason) (uint64, bool) {
	epoch, known := e.cachedEpoch()
	if known && a.uploads.has(group, epoch) {
		return epoch, true
	}
	u, up := a.uploads.get(group)
	switch want &^ schedule.ReasonRetry {
	case 0:
		return u.Epoch, up
	case schedule.ReasonEpoch:
		n := a.Config().Snapshot.EveryEpochs
		return u.Epoch, up && known && n > 0 && u.Epoch >= epoch/n*n
	}
	return 0, false
}

// notUploaded drops from todo the snapshots whose epoch is already at the
// destination and returns the rest with the newest epoch dropped.
func (a *Agent) notUploaded(group []byte, todo []exported) ([]exported, uint64) {
	var newest uint64
	out := todo[:0]
	for _, x := range todo {
		if !a.uploads.has(group, x.info.Epoch) {
			out = append(out, x)
			continue
		}
		newest = max(newest, x.info.Epoch)
		a.skipped(group, x.info.Epoch)
	}
	return out, newest
}

// skipped counts a snapshot not uploaded because its epoch is already at
// the destination.
func (a *Agent) skipped(group []byte, epoch uint64) {
	a.metrics.skipped.Inc()
	a.log.Debug("snapshot already at the destination; not uploaded again", "group", fmt.Sprintf("%x", group), "epoch", epoch)
}

// cachedEpoch returns the group's epoch if it is known without reading
// the store: the loaded group's, or the one cached when it was unloaded.
// The caller holds e.mu.
func (e *groupEntry) cachedEpoch() (uint64, bool) {
	switch {
	case e.g != nil:
		return e.g.Epoch(), true
	case e.known:
		return e.epoch, true
	}
	return 0, false
}

// savedTable remembers the checksum of the local snapshot file this
// process last wrote for each group, so that the same snapshot is not
// written again (an upload retried after a failure, a pass to a new
// destination, a request at an unchanged epoch).
type savedTable struct {
	mu sync.Mutex
	m  map[string][sha256.Size]byte
}

func newSavedTable() *savedTable { return &savedTable{m: map[string][sha256.Size]byte{}} }

// has reports whether sum is the group's last local snapshot.
func (t *savedTable) has(id []byte, sum [sha256.Size]byte) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	old, ok := t.m[string(id)]
	return ok && old == sum
}

func (t *savedTable) record(id []byte, sum [sha256.Size]byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.m[string(id)] = sum
}

// saveLocal keeps x as the group's local snapshot file, unless local
// copies are off (snapshot.local_keep 0) or this process already wrote
// exactly these bytes as the group's latest one. The store keeps nothing
// if the group has left x's epoch or is gone (see
// [localstore.Store.SaveSnapshot]).
func (a *Agent) saveLocal(ctx context.Context, group []byte, x exported) error {
	if a.Config().Snapshot.LocalKeep == 0 {
		return nil
	}
	sum := sha256.Sum256(x.data)
	if a.saved.has(group, sum) {
		return nil
	}
	if err := a.store.SaveSnapshot(ctx, group, x.info.Epoch, x.data); err != nil {
		return err
	}
	a.saved.record(group, sum)
	return nil
}

// upload stores one exported snapshot locally and uploads it.
func (a *Agent) upload(ctx context.Context, group []byte, x exported, reason schedule.Reason) error {
	start := time.Now()
	if err := a.saveLocal(ctx, group, x); err != nil {
		a.metrics.failed.WithLabelValues("local").Inc()
		return fmt.Errorf("save local snapshot of group %x: %w", group, err)
	}
	m, err := a.backup.Upload(ctx, uploader.SnapshotMeta{
		GroupID:            group,
		Epoch:              x.info.Epoch,
		Size:               int64(len(x.data)),
		Format:             SnapshotFormat,
		EpochAuthenticator: x.info.EpochAuthenticator,
	}, bytes.NewReader(x.data))
	if err != nil {
		a.metrics.failed.WithLabelValues("upload").Inc()
		a.log.Error("snapshot upload failed", "group", fmt.Sprintf("%x", group), "epoch", x.info.Epoch, "reason", reason.String(), "err", err)
		if errors.Is(err, uploader.ErrLeaseHeld) {
			err = schedule.Permanent(err)
		}
		return fmt.Errorf("upload snapshot of group %x epoch %d: %w", group, x.info.Epoch, err)
	}
	now := time.Now()
	a.destHealth.clear()
	a.heads.uploaded()
	a.uploads.record(group, UploadInfo{Epoch: x.info.Epoch, At: now})
	a.metrics.uploaded(group, x.info.Epoch, now, int64(len(x.data)), m.CiphertextSize, now.Sub(start))
	a.log.Info("snapshot uploaded", append(m.LogKeys(), "group", fmt.Sprintf("%x", group), "epoch", x.info.Epoch,
		"reason", reason.String(), "bytes", len(x.data), "duration", now.Sub(start))...)
	return nil
}

// SnapshotNow snapshots and uploads group at once and returns the epoch
// uploaded.
func (a *Agent) SnapshotNow(ctx context.Context, group []byte) (uint64, error) {
	done, err := a.begin()
	if err != nil {
		return 0, err
	}
	defer done()
	ok, err := a.exists(ctx, group)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("group %x: %w", group, ErrUnknownGroup)
	}
	return a.sched.get().RequestSync(ctx, group)
}

// SnapshotPass runs a snapshot pass at once, exactly as a cron slot does
// (the same code: package schedule's pass with this agent's lister and
// snapshots): every group whose epoch moved since its last complete upload
// is exported from a consistent view, kept as its local snapshot file and
// uploaded, on the scheduler's workers. It returns when they are done; the
// event counts the groups listed, snapshotted and failed. The snapshots
// start once [Agent.Run] runs the scheduler.
func (a *Agent) SnapshotPass(ctx context.Context) (schedule.PassEvent, error) {
	done, err := a.begin()
	if err != nil {
		return schedule.PassEvent{}, err
	}
	defer done()
	ev, err := a.sched.get().PassNow(ctx)
	if err != nil {
		return ev, fmt.Errorf("snapshot pass: %w", err)
	}
	if ev.Err != nil {
		return ev, fmt.Errorf("snapshot pass: %w", ev.Err)
	}
	if ev.Failed > 0 {
		return ev, fmt.Errorf("snapshot pass: %d of %d snapshots failed", ev.Failed, ev.Requested)
	}
	return ev, nil
}

// LocalEpoch reports the stored group's current epoch; ok is false if the
// group is not stored.
func (a *Agent) LocalEpoch(ctx context.Context, group []byte) (epoch uint64, ok bool, err error) {
	epoch, err = a.peekEpoch(ctx, group)
	if errors.Is(err, ErrUnknownGroup) {
		return 0, false, nil
	}
	if err != nil {
		return 0, true, err
	}
	return epoch, true, nil
}

// Import stores a verified GroupSnapshot (restore) as its group's state in
// one atomic batch, replacing a stored group only if replace is set (else it
// fails with engine.ErrGroupExists). The group is then reloaded from the
// imported state.
func (a *Agent) Import(ctx context.Context, snapshot []byte, replace bool) (engine.SnapshotInfo, error) {
	done, err := a.begin()
	if err != nil {
		return engine.SnapshotInfo{}, err
	}
	defer done()
	// Learn the group id first, so that the import runs with its mutex held.
	probe := engine.NewMemStorage()
	pre, err := engine.ImportSnapshot(ctx, probe, snapshot, false)
	if err != nil {
		return engine.SnapshotInfo{}, fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	var info engine.SnapshotInfo
	err = a.withEntry(pre.GroupID, func(e *groupEntry) error {
		var err error
		info, err = engine.ImportSnapshot(ctx, a.store, snapshot, replace)
		if err != nil {
			return fmt.Errorf("import snapshot of group %x: %w", pre.GroupID, err)
		}
		e.g, e.known, e.pending = nil, false, nil // reload from the imported state
		return nil
	})
	if err != nil {
		return engine.SnapshotInfo{}, err
	}
	a.log.Info("group imported from snapshot", "group", fmt.Sprintf("%x", info.GroupID), "epoch", info.Epoch, "replaced", replace)
	return info, nil
}
