package uploader

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"time"
)

// Latest returns the newest snapshot of group among ms: the highest epoch,
// and of those the latest created. It fails with [ErrNoSnapshot] if ms has
// none of group.
func Latest(ms []Manifest, group []byte) (Manifest, error) {
	return pick(ms, group, func(Manifest) bool { return true }, compareRefs,
		"no complete snapshot")
}

// SelectEpoch returns the latest created snapshot of group at exactly
// epoch, or fails with [ErrNoSnapshot].
func SelectEpoch(ms []Manifest, group []byte, epoch uint64) (Manifest, error) {
	return pick(ms, group, func(m Manifest) bool { return m.Epoch == epoch }, compareRefs,
		fmt.Sprintf("no complete snapshot at epoch %d", epoch))
}

// SelectBefore returns the snapshot of group created last at or before t
// — the group as the backups knew it at t — or fails with [ErrNoSnapshot].
func SelectBefore(ms []Manifest, group []byte, t time.Time) (Manifest, error) {
	byCreated := func(a, b Ref) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return compareRefs(a, b)
	}
	return pick(ms, group, func(m Manifest) bool { return !m.Created.After(t) }, byCreated,
		"no complete snapshot created at or before "+t.UTC().Format(time.RFC3339))
}

// Groups returns the distinct group ids of ms in first-seen order (sorted
// if ms is, as List returns it).
func Groups(ms []Manifest) [][]byte {
	seen := make(map[string]bool)
	var out [][]byte
	for _, m := range ms {
		if !seen[string(m.GroupID)] {
			seen[string(m.GroupID)] = true
			out = append(out, m.GroupID)
		}
	}
	return out
}

// pick returns the greatest manifest of group (by cmp) that ok accepts.
func pick(ms []Manifest, group []byte, ok func(Manifest) bool, cmp func(a, b Ref) int, none string) (Manifest, error) {
	var best Manifest
	found := false
	for _, m := range ms {
		if !bytes.Equal(m.GroupID, group) || !ok(m) {
			continue
		}
		if !found || cmp(m.Ref, best.Ref) > 0 {
			best, found = m, true
		}
	}
	if !found {
		return Manifest{}, fmt.Errorf("%w: group %s: %s", ErrNoSnapshot, hex.EncodeToString(group), none)
	}
	return best, nil
}
