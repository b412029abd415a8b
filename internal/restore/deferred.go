package restore

import (
	"context"
	"fmt"
	"sync"

	"github.com/mlsbackup/mlsbackup/engine"
)

// OpenOnImport is a [Target] for a data directory that holds no data yet
// (it does not exist, or was never initialised): it has no local groups,
// and it opens the real target only when a snapshot that verified is about
// to be imported. A restore that imports nothing — it could not list,
// download, decrypt or verify — thus leaves the directory as it was (not
// created, not initialised). A group that another writer stores in the
// meantime is not overwritten: the import, which does not replace, fails
// with an error wrapping engine.ErrGroupExists.
//
// Use it through a pointer; it is safe for concurrent use.
type OpenOnImport struct {
	// Open opens the real target. It is called once, by the first import;
	// if it fails, that import and every later one fail with its error.
	Open func(ctx context.Context) (Target, error)

	mu     sync.Mutex
	done   bool
	target Target
	err    error
}

var (
	_ Target          = (*OpenOnImport)(nil)
	_ GroupLister     = (*OpenOnImport)(nil)
	_ checkedImporter = (*OpenOnImport)(nil)
)

// opened returns the real target once opened, else nil.
func (o *OpenOnImport) opened() Target {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.target
}

// open opens the real target on first use.
func (o *OpenOnImport) open(ctx context.Context) (Target, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.done {
		o.done = true
		o.target, o.err = o.Open(ctx)
		if o.err != nil {
			o.target = nil
		}
	}
	return o.target, o.err
}

// LocalGroups implements [GroupLister]: none until the target is opened.
func (o *OpenOnImport) LocalGroups(ctx context.Context) ([][]byte, error) {
	t := o.opened()
	if t == nil {
		return nil, nil
	}
	gl, ok := t.(GroupLister)
	if !ok {
		return nil, fmt.Errorf("list local groups: %T cannot list them", t)
	}
	return gl.LocalGroups(ctx)
}

// LocalEpoch implements [Target]: no group is stored until the target is
// opened.
func (o *OpenOnImport) LocalEpoch(ctx context.Context, group []byte) (uint64, bool, error) {
	t := o.opened()
	if t == nil {
		return 0, false, nil
	}
	return t.LocalEpoch(ctx, group)
}

// Import implements [Target]: it opens the real target and imports there.
// The caller has verified the snapshot.
func (o *OpenOnImport) Import(ctx context.Context, snapshot []byte, replace bool) (engine.SnapshotInfo, error) {
	t, err := o.open(ctx)
	if err != nil {
		return engine.SnapshotInfo{}, fmt.Errorf("open the data directory: %w", err)
	}
	return t.Import(ctx, snapshot, replace)
}

// importChecked implements checkedImporter. Before the target is opened,
// the snapshot is first verified and checked in memory, so that one that
// fails opens (creates) nothing.
func (o *OpenOnImport) importChecked(ctx context.Context, snapshot []byte, replace bool, check func(engine.SnapshotInfo) error) (engine.SnapshotInfo, error) {
	if o.opened() == nil {
		mem := StoreTarget{Storage: engine.NewMemStorage()}
		if info, err := mem.importChecked(ctx, snapshot, false, check); err != nil {
			return info, err
		}
	}
	t, err := o.open(ctx)
	if err != nil {
		return engine.SnapshotInfo{}, fmt.Errorf("import: open the data directory: %w", err)
	}
	if ci, ok := t.(checkedImporter); ok {
		return ci.importChecked(ctx, snapshot, replace, check)
	}
	info, err := t.Import(ctx, snapshot, replace)
	if err != nil {
		return info, fmt.Errorf("import: %w", err)
	}
	return info, nil
}
