package uploader

import (
	"bytes"
	"encoding/hex"
	"maps"
	"slices"
	"time"
)

// ChainErrors checks that the signed manifests of one group — every one
// the prefix still holds, as [Backup.List] returns them — form a chain:
// each names, as its predecessor, a manifest present with that sequence
// and payload digest, or one older than the oldest present (retention
// deletes the oldest). A manifest whose predecessor is missing (a deleted
// manifest), differs, or that names none while older ones exist, fails
// [CheckChain]. It returns one [*ObjectError] per such manifest, keyed
// by its key. Unsigned manifests are not part of the chain.
func ChainErrors(ms []Manifest) map[string]error {
	var signed []Manifest
	for _, m := range ms {
		if m.Signed() {
			signed = append(signed, m)
		}
	}
	if len(signed) < 2 {
		return nil
	}
	slices.SortFunc(signed, func(a, b Manifest) int {
		switch {
		case a.Sequence < b.Sequence:
			return -1
		case a.Sequence > b.Sequence:
			return 1
		}
		return 0
	})
	bySeq := make(map[uint64][]Manifest, len(signed))
	for _, m := range signed {
		bySeq[m.Sequence] = append(bySeq[m.Sequence], m)
	}
	oldest := signed[0].Sequence
	out := map[string]error{}
	fail := func(m Manifest, format string, args ...any) {
		out[m.Key] = objErr("check chain", m.Key, checkErr(CheckChain, ErrBrokenChain, format, args...))
	}
	for _, m := range signed {
		switch {
		case len(bySeq[m.Sequence]) > 1:
			fail(m, "sequence %d is taken twice in the group", m.Sequence)
		case m.Sequence == oldest:
			// The oldest present: its predecessor may have been pruned.
		case m.Prev == nil:
			fail(m, "sequence %d names no predecessor, but the group holds sequence %d before it", m.Sequence, oldest)
		case m.Prev.Sequence < oldest:
			// Its predecessor was deleted by retention, like the oldest's.
		case !hasLink(bySeq[m.Prev.Sequence], *m.Prev):
			what := "is missing (deleted?)"
			if len(bySeq[m.Prev.Sequence]) > 0 {
				what = "differs from the one present"
			}
			fail(m, "sequence %d names its predecessor %d, which %s", m.Sequence, m.Prev.Sequence, what)
		}
	}
	return out
}

func hasLink(ms []Manifest, l Link) bool {
	for _, m := range ms {
		if m.link() == l {
			return true
		}
	}
	return false
}

// HeadError checks one group's manifests that a reader holds (every one
// of the group, or only its newest) against h, the prefix's newest head
// that verifies (nil if the prefix has none). It fails [CheckHead] if a
// manifest names a head newer than h (a head was deleted), if h names a
// newer manifest of the group than any present (the newest ones were
// deleted), or if the manifest h names is present but differs. now
// dates the head in messages.
func HeadError(h *Head, group []byte, ms []Manifest, now time.Time) error {
	var newest *Manifest
	for i, m := range ms {
		if !m.Signed() {
			continue
		}
		if hs := headSeq(h); m.Head > hs {
			return objErr("check head", m.Key, checkErr(CheckHead, ErrHead,
				"signed after head %d, but the newest head present is %d: a head was deleted", m.Head, hs))
		}
		if newest == nil || m.Sequence > newest.Sequence {
			newest = &ms[i]
		}
	}
	if h == nil {
		return nil
	}
	e, ok := h.Groups[hex.EncodeToString(group)]
	if !ok {
		return nil
	}
	fail := func(key, format string, args ...any) error {
		return objErr("check head", key, checkErr(CheckHead, ErrHead, format+" (head %s, written %s ago)",
			append(args, h.Key, Age(now, h.Written))...))
	}
	for _, m := range ms {
		if m.Signed() && m.Sequence == e.Sequence {
			if !bytes.Equal(m.PayloadSHA256[:], e.SHA256[:]) {
				return fail(m.Key, "the head names another manifest of sequence %d", e.Sequence)
			}
			return nil
		}
	}
	switch {
	case newest == nil:
		return fail(h.Key, "the head names group %s at epoch %d (sequence %d), the prefix holds no signed manifest of it",
			hex.EncodeToString(group), e.Epoch, e.Sequence)
	case newest.Sequence < e.Sequence:
		return fail(newest.Key, "the newest manifest present has sequence %d, the head names sequence %d at epoch %d: newer manifests were deleted",
			newest.Sequence, e.Sequence, e.Epoch)
	}
	return nil
}

// MissingGroups returns the groups h names of which the prefix holds no
// snapshot at all (has reports whether it holds one), in h's sorted order.
func MissingGroups(h *Head, has func(group []byte) bool) [][]byte {
	if h == nil {
		return nil
	}
	var out [][]byte
	for _, g := range slices.Sorted(maps.Keys(h.Groups)) {
		id, err := hex.DecodeString(g)
		if err == nil && !has(id) {
			out = append(out, id)
		}
	}
	return out
}

func headSeq(h *Head) uint64 {
	if h == nil {
		return 0
	}
	return h.Sequence
}

// Age renders how long before now t was, rounded for people ("3h0m0s").
func Age(now, t time.Time) time.Duration {
	d := now.Sub(t)
	switch {
	case d < 0:
		return 0
	case d < time.Minute:
		return d.Round(time.Second)
	}
	return d.Round(time.Minute)
}
