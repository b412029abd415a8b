package localstore

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/mlsbackup/mlsbackup/engine"
)

// EpochOf parses an epoch-secrets component name "epoch_<N>.bin", N in
// decimal digits (leading zeros allowed, as the engine pads to 20 digits).
func EpochOf(name string) (uint64, bool) {
	digits, ok := strings.CutPrefix(name, "epoch_")
	if !ok {
		return 0, false
	}
	digits, ok = strings.CutSuffix(digits, ".bin")
	if !ok || digits == "" || strings.ContainsFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil
}

// ExpiredEpochs returns the names among names (epoch-secrets components of
// one group) that the retention of keep epochs deletes: every epoch_<N>.bin
// with N <= newest-keep. Other names are never expired.
func ExpiredEpochs(names []string, keep int) []string {
	var newest uint64
	found := false
	for _, n := range names {
		if e, ok := EpochOf(n); ok && (!found || e > newest) {
			newest, found = e, true
		}
	}
	var out []string
	if !found || newest < uint64(keep) {
		return nil
	}
	for _, n := range names {
		if e, ok := EpochOf(n); ok && e <= newest-uint64(keep) {
			out = append(out, n)
		}
	}
	return out
}

// addRetentionLocked adds to b the deletion of epoch secrets that fall out
// of the retention once b is applied, and returns, per group hex whose
// current epoch b changes (or whose epochs it deletes all), the local
// snapshots that may stay once b is durable: only those of the current
// epoch, as a local snapshot of an earlier one holds secrets the group
// has deleted (that epoch's init, exporter and other secrets, the oldest
// retained epoch, replaced private keys), and none of a deleted group.
// s.mu is held.
func (s *Store) addRetentionLocked(b *engine.Batch) (map[string]pruneMark, error) {
	var prune map[string]pruneMark
	groups := map[string][]byte{}
	for _, p := range b.Puts {
		if _, ok := EpochOf(p.Key.Name); ok && p.Key.Kind == engine.KindEpochSecrets && len(p.Key.Group) > 0 {
			groups[string(p.Key.Group)] = p.Key.Group
		}
	}
	for _, k := range b.Deletes {
		if _, ok := EpochOf(k.Name); ok && k.Kind == engine.KindEpochSecrets && len(k.Group) > 0 {
			groups[string(k.Group)] = k.Group
		}
	}
	for _, g := range groups {
		names, err := s.epochNamesLocked(g)
		if err != nil {
			return nil, err
		}
		before, had := newestEpoch(names)
		after := make(map[string]bool, len(names)+1)
		for n := range names {
			after[n] = true
		}
		for _, d := range b.Deletes {
			if string(d.Group) == string(g) && d.Kind == engine.KindEpochSecrets {
				delete(after, d.Name)
			}
		}
		for _, p := range b.Puts {
			if string(p.Key.Group) == string(g) && p.Key.Kind == engine.KindEpochSecrets {
				after[p.Key.Name] = true
			}
		}
		all := make([]string, 0, len(after))
		for n := range after {
			all = append(all, n)
		}
		for _, n := range ExpiredEpochs(all, s.opts.EpochRetention) {
			b.Deletes = append(b.Deletes, engine.Key{Group: g, Kind: engine.KindEpochSecrets, Name: n})
		}
		newest, has := newestEpoch(after)
		if has && had && newest == before {
			continue
		}
		if prune == nil {
			prune = map[string]pruneMark{}
		}
		prune[hex.EncodeToString(g)] = pruneMark{epoch: newest, gone: !has}
	}
	return prune, nil
}

// newestEpoch returns the highest N among names that are epoch_<N>.bin,
// and whether there is one.
func newestEpoch(names map[string]bool) (uint64, bool) {
	var newest uint64
	found := false
	for n, ok := range names {
		if e, isEpoch := EpochOf(n); ok && isEpoch && (!found || e > newest) {
			newest, found = e, true
		}
	}
	return newest, found
}

// epochNamesLocked returns the set of epoch_<N>.bin names the group has
// once every committed batch is applied, from the in-memory index (loaded
// from the files and the overlay on first use). s.mu is held.
func (s *Store) epochNamesLocked(group []byte) (map[string]bool, error) {
	if names, ok := s.epochs[string(group)]; ok {
		return names, nil
	}
	list, err := s.listLocked(group, engine.KindEpochSecrets)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, n := range list {
		if _, ok := EpochOf(n); ok {
			names[n] = true
		}
	}
	s.epochs[string(group)] = names
	return names, nil
}

// noteEpochsLocked updates the epoch-name index with a committed batch
// (deletes before puts, as they are applied). s.mu is held.
func (s *Store) noteEpochsLocked(b *engine.Batch) {
	for _, d := range b.Deletes {
		if names, ok := s.epochs[string(d.Group)]; ok && d.Kind == engine.KindEpochSecrets {
			delete(names, d.Name)
		}
	}
	for _, p := range b.Puts {
		if names, ok := s.epochs[string(p.Key.Group)]; ok && p.Key.Kind == engine.KindEpochSecrets {
			if _, isEpoch := EpochOf(p.Key.Name); isEpoch {
				names[p.Key.Name] = true
			}
		}
	}
}

func snapshotName(epoch uint64) string { return fmt.Sprintf("epoch_%d.snapshot", epoch) }
