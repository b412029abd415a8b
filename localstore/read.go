package localstore

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/atomicfile"
	"github.com/mlsbackup/mlsbackup/wal"
)

// Get implements [engine.Storage]. A component file that fails its
// checksum gives a [*CorruptFileError] naming it.
func (s *Store) Get(ctx context.Context, key engine.Key) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	if err := validateKey(key); err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	var v []byte
	err := s.visible(func() (ticket uint64, err error) {
		v, ticket, err = s.getLocked(key)
		return ticket, err
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// visible runs read under the read lock, then waits until the newest
// overlay value it used (ticket, 0 for none) is durable, so that a reader
// never acts on a batch that a crash could still undo. If a batch was lost
// with a failed log write meanwhile, it is taken out of the overlay and
// read runs again.
func (s *Store) visible(read func() (ticket uint64, err error)) error {
	for {
		s.mu.RLock()
		seen := s.seenFailures
		ticket, err := read()
		s.mu.RUnlock()
		if err != nil || ticket == 0 {
			return err
		}
		// Every value read has a ticket up to this one: none was lost
		// unless a write failed since the last rollback.
		if s.log.Failures() == seen {
			err = s.log.WaitDurable(ticket)
			if err != nil && !errors.Is(err, wal.ErrWriteFailed) {
				return fmt.Errorf("read: %w", err)
			}
			if err == nil && s.log.Failures() == seen {
				return nil
			}
		}
		s.mu.Lock()
		s.rollbackLocked()
		s.mu.Unlock()
	}
}

// getLocked reads one component from the overlay or its file. s.mu is held.
func (s *Store) getLocked(key engine.Key) ([]byte, uint64, error) {
	if e, ok := s.pending.get(compKey(key)); ok {
		if e.deleted {
			return nil, e.ticket, fmt.Errorf("get %s/%s: %w", key.Kind, key.Name, engine.ErrNotFound)
		}
		return bytes.Clone(e.value), e.ticket, nil
	}
	path := s.compPath(key)
	b, err := s.fs.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("get %s/%s: %w", key.Kind, key.Name, engine.ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("get: %w", err)
	}
	v, err := decodeComponent(path, b)
	if err != nil {
		return nil, 0, err
	}
	return v, 0, nil
}

// List implements [engine.Storage].
func (s *Store) List(ctx context.Context, group []byte, kind engine.Kind) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	var names []string
	err := s.visible(func() (uint64, error) {
		var err error
		names, err = s.listLocked(group, kind)
		return s.maxTicketLocked(group), err
	})
	if err != nil {
		return nil, err
	}
	return names, nil
}

// readNames lists the file names in dir, without temporaries; a missing
// directory is empty.
func (s *Store) readNames(dir string) ([]string, error) {
	ents, err := s.fs.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var out []string
	for _, e := range ents {
		if !atomicfile.IsTemp(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// listLocked merges the files of one kind with the overlay. s.mu is held.
func (s *Store) listLocked(group []byte, kind engine.Kind) ([]string, error) {
	files, err := s.readNames(s.kindDir(group, kind))
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, n := range files {
		set[n] = true
	}
	for _, e := range s.pending.group(group) {
		if e.key.Kind == kind {
			set[e.key.Name] = !e.deleted
		}
	}
	names := []string{}
	for n, ok := range set {
		if ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// maxTicketLocked is the newest overlay ticket of a group. s.mu is held.
func (s *Store) maxTicketLocked(group []byte) uint64 {
	var t uint64
	for _, e := range s.pending.group(group) {
		t = max(t, e.ticket)
	}
	return t
}

// kindsLocked lists the kinds a group has on disk or in the overlay.
func (s *Store) kindsLocked(group []byte) ([]engine.Kind, error) {
	dirs, err := s.readNames(s.groupDir(group))
	if err != nil {
		return nil, err
	}
	set := map[engine.Kind]bool{}
	for _, d := range dirs {
		if d != dirSnapshots {
			set[engine.Kind(d)] = true
		}
	}
	for _, e := range s.pending.group(group) {
		set[e.key.Kind] = true
	}
	kinds := make([]engine.Kind, 0, len(set))
	for k := range set {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return kinds[i] < kinds[j] })
	return kinds, nil
}

// groupKeysLocked lists every component key of a group. s.mu is held.
func (s *Store) groupKeysLocked(group []byte) ([]engine.Key, error) {
	kinds, err := s.kindsLocked(group)
	if err != nil {
		return nil, err
	}
	var keys []engine.Key
	for _, k := range kinds {
		names, err := s.listLocked(group, k)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			keys = append(keys, engine.Key{Group: bytes.Clone(group), Kind: k, Name: n})
		}
	}
	return keys, nil
}

// Groups implements [engine.Storage]: groups with at least one component.
func (s *Store) Groups(ctx context.Context) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("groups: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	dirs, err := s.readNames(filepath.Join(s.dir, dirMLS, dirGroups))
	if err != nil {
		return nil, err
	}
	cand := map[string][]byte{}
	for _, d := range dirs {
		if g, err := hex.DecodeString(d); err == nil && len(g) > 0 && hex.EncodeToString(g) == d {
			cand[d] = g
		}
	}
	for g := range s.pending.byGroup {
		if len(g) > 0 {
			cand[hex.EncodeToString([]byte(g))] = []byte(g)
		}
	}
	var out [][]byte
	for _, g := range cand {
		keys, err := s.groupKeysLocked(g)
		if err != nil {
			return nil, err
		}
		if len(keys) > 0 {
			out = append(out, bytes.Clone(g))
		}
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i], out[j]) < 0 })
	return out, nil
}

// GroupComponents returns every component of one group (nil or empty for
// the client-level components) as one consistent view: no batch is half
// visible in it. Sorted by kind, then name.
func (s *Store) GroupComponents(ctx context.Context, group []byte) ([]engine.Put, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("group components: %w", err)
	}
	var out []engine.Put
	err := s.visible(func() (uint64, error) {
		out = nil
		keys, err := s.groupKeysLocked(group)
		for _, k := range keys {
			if err != nil {
				break
			}
			var v []byte
			v, _, err = s.getLocked(k)
			out = append(out, engine.Put{Key: k, Value: v})
		}
		if err != nil {
			return 0, fmt.Errorf("group components: %w", err)
		}
		return s.maxTicketLocked(group), nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
