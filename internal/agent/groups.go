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
	// refs counts operations holding or waiting for the entry (under the
	// table's mutex); counted says whether g is counted as loaded.
	refs    int
	counted bool
}

// groupTable holds one entry per group id in use or loaded. An entry is
// referenced while an operation holds or waits for it; an unreferenced
// entry without a loaded group is dropped, and beyond maxLoaded loaded
// groups the unreferenced ones are unloaded (their state is all in the
// store; they load again on next use).
type groupTable struct {
	mu        sync.Mutex
	m         map[string]*groupEntry
	maxLoaded int
	nLoaded   int
}

func newGroupTable(maxLoaded int) *groupTable {
	return &groupTable{m: map[string]*groupEntry{}, maxLoaded: maxLoaded}
}

// acquire returns the entry of id, creating it, and references it.
func (t *groupTable) acquire(id []byte) *groupEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[string(id)]
	if !ok {
		e = &groupEntry{}
		t.m[string(id)] = e
	}
	e.refs++
	return e
}

// release unlocks e (locked by the caller) and drops the reference.
func (t *groupTable) release(id []byte, e *groupEntry) {
	loaded := e.g != nil
	if loaded && !e.counted {
		e.counted = true
		t.mu.Lock()
		t.nLoaded++
		t.mu.Unlock()
	} else if !loaded && e.counted {
		e.counted = false
		t.mu.Lock()
		t.nLoaded--
		t.mu.Unlock()
	}
	keep := loaded || e.known || len(e.pending) > 0
	e.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	e.refs--
	if e.refs == 0 && !keep {
		delete(t.m, string(id))
	}
	if t.maxLoaded > 0 && t.nLoaded > t.maxLoaded {
		t.evictLocked()
	}
}

// evictLocked unloads unreferenced groups until a tenth below the cap.
func (t *groupTable) evictLocked() {
	target := t.maxLoaded - t.maxLoaded/10
	for _, e := range t.m {
		if t.nLoaded <= target {
			return
		}
		if e.refs > 0 || !e.mu.TryLock() {
			continue
		}
		if e.g != nil && e.counted {
			e.epoch, e.known = e.g.Epoch(), true
			e.g, e.counted = nil, false
			t.nLoaded--
		}
		e.mu.Unlock()
	}
}

// loaded returns how many groups are loaded.
func (t *groupTable) loaded() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.nLoaded
}

// exists reports whether group id has stored state.
func (a *Agent) exists(ctx context.Context, id []byte) (bool, error) {
	names, err := a.store.List(ctx, id, engine.KindState)
	if err != nil {
		return false, fmt.Errorf("list group %x: %w", id, err)
	}
	return len(names) > 0, nil
}

// workOnGroup runs fn on group id as one unit of agent work: refused with
// [ErrShuttingDown] once shutdown began, and waited for by it otherwise.
func (a *Agent) workOnGroup(ctx context.Context, id []byte, fn func(e *groupEntry) error) error {
	done, err := a.begin()
	if err != nil {
		return err
	}
	defer done()
	return a.withGroup(ctx, id, fn)
}

// withGroup runs fn with the group id loaded and its mutex held. A group
// that is not stored gives ErrUnknownGroup.
func (a *Agent) withGroup(ctx context.Context, id []byte, fn func(e *groupEntry) error) error {
	if len(id) == 0 {
		return fmt.Errorf("%w: empty group id", ErrInvalidArgument)
	}
	e := a.groups.acquire(id)
	e.mu.Lock()
	defer a.groups.release(id, e)
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
	e := a.groups.acquire(id)
	e.mu.Lock()
	defer a.groups.release(id, e)
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
