package restore

import (
	"context"
	"errors"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine"
)

// Target is where restored groups go: the data directory opened directly, or
// a running agent that holds its lock.
type Target interface {
	// LocalEpoch reports the group's current local epoch. ok is false when
	// the group is not stored. An error means the local state exists but
	// cannot be read.
	LocalEpoch(ctx context.Context, group []byte) (epoch uint64, ok bool, err error)
	// Import stores the verified snapshot as the group's state in one atomic
	// step, replacing a stored group when replace is set (and failing with
	// an error wrapping engine.ErrGroupExists otherwise).
	Import(ctx context.Context, snapshot []byte, replace bool) (engine.SnapshotInfo, error)
}

// GroupLister is a [Target] that can list its stored groups in one call.
// A restore of every group asks it once and calls [Target.LocalEpoch] only
// for the groups it listed. A group stored after the listing is not
// overwritten: its import fails with an error wrapping
// engine.ErrGroupExists.
type GroupLister interface {
	// LocalGroups returns the ids of the stored groups.
	LocalGroups(ctx context.Context) ([][]byte, error)
}

// StoreTarget restores into an engine.Storage opened directly, such as a
// localstore.Store whose lock this process holds. localstore applies the
// import's single batch atomically.
type StoreTarget struct {
	// Storage is the data directory's store.
	Storage engine.Storage
	// Options are the engine options used to read local groups.
	Options engine.Options
}

var (
	_ Target      = StoreTarget{}
	_ GroupLister = StoreTarget{}
)

// LocalGroups implements GroupLister.
func (t StoreTarget) LocalGroups(ctx context.Context) ([][]byte, error) {
	groups, err := t.Storage.Groups(ctx)
	if err != nil {
		return nil, fmt.Errorf("list local groups: %w", err)
	}
	return groups, nil
}

// LocalEpoch implements Target.
func (t StoreTarget) LocalEpoch(ctx context.Context, group []byte) (uint64, bool, error) {
	names, err := t.Storage.List(ctx, group, engine.KindState)
	if err != nil {
		return 0, false, fmt.Errorf("list local group %x: %w", group, err)
	}
	if len(names) == 0 {
		return 0, false, nil
	}
	g, err := engine.LoadGroup(ctx, t.Storage, group, t.Options)
	if err != nil {
		return 0, true, err
	}
	return g.Epoch(), true, nil
}

// Import implements Target.
func (t StoreTarget) Import(ctx context.Context, snapshot []byte, replace bool) (engine.SnapshotInfo, error) {
	return engine.ImportSnapshot(ctx, t.Storage, snapshot, replace)
}

// checkedImporter is a [Target] that verifies a snapshot and imports it in
// one pass: the engine parses and checks the snapshot once, check sees its
// header before anything is stored, and an error from check stores
// nothing. [StoreTarget] implements it; Run then skips the separate
// verification.
type checkedImporter interface {
	importChecked(ctx context.Context, snapshot []byte, replace bool, check func(engine.SnapshotInfo) error) (engine.SnapshotInfo, error)
}

var _ checkedImporter = StoreTarget{}

// importChecked implements checkedImporter: the import's batch is held
// back until check accepts the snapshot. Errors are prefixed with the step
// that failed ("verify snapshot" when nothing was stored, "import").
func (t StoreTarget) importChecked(ctx context.Context, snapshot []byte, replace bool, check func(engine.SnapshotInfo) error) (engine.SnapshotInfo, error) {
	h := &heldApply{Storage: t.Storage}
	info, err := engine.ImportSnapshot(ctx, h, snapshot, replace)
	switch {
	case errors.Is(err, engine.ErrGroupExists):
		return info, fmt.Errorf("import: %w", err)
	case err != nil:
		return info, fmt.Errorf("verify snapshot: %w", err)
	}
	if err := check(info); err != nil {
		return info, fmt.Errorf("verify snapshot: %w", err)
	}
	if h.batch == nil {
		return info, errors.New("import: the engine stored nothing")
	}
	if err := t.Storage.Apply(ctx, h.batch); err != nil {
		return info, fmt.Errorf("import: store: %w", err)
	}
	return info, nil
}

// heldApply passes reads through to Storage and keeps the one batch the
// import applies instead of applying it.
type heldApply struct {
	engine.Storage
	batch *engine.Batch
}

// Apply implements engine.Storage by holding b.
func (h *heldApply) Apply(_ context.Context, b *engine.Batch) error {
	if h.batch != nil {
		return errors.New("restore: the import applied more than one batch")
	}
	h.batch = b
	return nil
}
