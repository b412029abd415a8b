package restore

import (
	"bytes"
	"fmt"
	"time"

	"github.com/mlsbackup/mlsbackup/uploader"
)

// Selector says which snapshot of a group to restore. The zero value selects
// the newest complete snapshot (highest epoch, then latest created).
type Selector struct {
	// Epoch, if HasEpoch, selects the newest snapshot of exactly this epoch.
	Epoch    uint64
	HasEpoch bool
	// Before, if not zero, selects the snapshot created last at or before
	// this time.
	Before time.Time
}

// Validate reports a selector that asks for two things at once.
func (s Selector) Validate() error {
	if s.HasEpoch && !s.Before.IsZero() {
		return fmt.Errorf("%w: choose one of an epoch and a time", ErrBadRequest)
	}
	return nil
}

// String describes the selection for messages.
func (s Selector) String() string {
	switch {
	case s.HasEpoch:
		return fmt.Sprintf("epoch %d", s.Epoch)
	case !s.Before.IsZero():
		return "latest before " + s.Before.UTC().Format(time.RFC3339)
	default:
		return "latest"
	}
}

// pick selects the snapshot of group among ms.
func (s Selector) pick(ms []uploader.Manifest, group []byte) (uploader.Manifest, error) {
	switch {
	case s.HasEpoch:
		return uploader.SelectEpoch(ms, group, s.Epoch)
	case !s.Before.IsZero():
		return uploader.SelectBefore(ms, group, s.Before)
	default:
		return uploader.Latest(ms, group)
	}
}

// groupsOf returns the distinct groups of ms in their (sorted) order.
func groupsOf(ms []uploader.Manifest) [][]byte {
	var out [][]byte
	for _, m := range ms {
		if n := len(out); n == 0 || !bytes.Equal(out[n-1], m.GroupID) {
			out = append(out, m.GroupID)
		}
	}
	return out
}
