package agent

import (
	"context"
	"encoding/hex"
	"fmt"
	"sort"
	"sync"

	"github.com/mlsbackup/mlsbackup/engine"
)

// groupEntry is one group of the table: its mutex serializes every
// operation on the group and the export of its snapshots.
type groupEntry struct {
	mu sync.Mutex
	g  *engine.Group // nil until loaded or created
	// pending are snapshots exported at epoch changes that asked for one,
	// not yet uploaded (oldest first).
	pending []exported
	// epoch caches the epoch of a group that is not loaded (known says
	// whether it is set); a loaded group's own epoch is authoritative.
	epoch uint64
	known bool
}

// groupTable holds one entry per group id that was touched.
type groupTable struct {
	mu sync.Mutex
	m  map[string]*groupEntry
}

func newGroupTable() *groupTable { return &groupTable{m: map[string]*groupEntry{}} }

// entry returns the entry of id, creating it.
func (t *groupTable) entry(id []byte) *groupEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[string(id)]
	if !ok {
		e = &groupEntry{}
		t.m[string(id)] = e
	}
	return e
}

// loaded returns the groups loaded so far, by id.
func (t *groupTable) loaded() map[string]*engine.Group {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]*engine.Group, len(t.m))
	for k, e := range t.m {
		if g := e.g; g != nil {
			out[k] = g
		}
	}
	return out
}

// exists reports whether group id has stored state.
func (a *Agent) exists(ctx context.Context, id []byte) (bool, error) {
	names, err := a.store.List(ctx, id, engine.KindState)
	if err != nil {
		return false, fmt.Errorf("list group %x: %w", id, err)
	}
	return len(names) > 0, nil
}

// withGroup runs fn with the group id loaded and its mutex held. A group
// that is not stored gives ErrUnknownGroup.
func (a *Agent) withGroup(ctx context.Context, id []byte, fn func(e *groupEntry) error) error {
	if len(id) == 0 {
		return fmt.Errorf("%w: empty group id", ErrInvalidArgument)
	}
	e := a.groups.entry(id)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.g == nil {
		ok, err := a.exists(ctx, id)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("group %x: %w", id, ErrUnknownGroup)
		}
		g, err := engine.LoadGroup(ctx, a.store, id, a.engOpts)
		if err != nil {
			return fmt.Errorf("load group %x: %w", id, err)
		}
		e.g = g
	}
	return fn(e)
}

// withEntry runs fn with the entry of id locked, loaded or not (create,
// join, import, snapshot).
func (a *Agent) withEntry(id []byte, fn func(e *groupEntry) error) error {
	e := a.groups.entry(id)
	e.mu.Lock()
	defer e.mu.Unlock()
	return fn(e)
}

// storedGroups lists the ids of the stored groups, sorted.
func (a *Agent) storedGroups(ctx context.Context) ([][]byte, error) {
	ids, err := a.store.Groups(ctx)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	out := ids[:0]
	for _, id := range ids {
		if len(id) > 0 { // the client-level components have no group
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return hex.EncodeToString(out[i]) < hex.EncodeToString(out[j]) })
	return out, nil
}

// peekEpoch returns the stored group's epoch without keeping the group
// loaded (cron passes over many groups). It fails with ErrUnknownGroup if
// the group is not stored.
func (a *Agent) peekEpoch(ctx context.Context, id []byte) (uint64, error) {
	var epoch uint64
	err := a.withEntry(id, func(e *groupEntry) error {
		switch {
		case e.g != nil:
			epoch = e.g.Epoch()
			return nil
		case e.known:
			epoch = e.epoch
			return nil
		}
		ok, err := a.exists(ctx, id)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("group %x: %w", id, ErrUnknownGroup)
		}
		g, err := engine.LoadGroup(ctx, a.store, id, a.engOpts)
		if err != nil {
			return fmt.Errorf("load group %x: %w", id, err)
		}
		epoch, e.epoch, e.known = g.Epoch(), g.Epoch(), true
		return nil
	})
	return epoch, err
}
