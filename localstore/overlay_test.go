package localstore

import (
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
)

func TestOverlayByGroup(t *testing.T) {
	o := newOverlay()
	a1 := &pendingEntry{key: key("a", engine.KindState, "x"), ticket: 1}
	a2 := &pendingEntry{key: key("a", engine.KindState, "x"), ticket: 2}
	b1 := &pendingEntry{key: key("b", engine.KindKeys, "y"), ticket: 3}
	o.set(compKey(a1.key), a1)
	o.set(compKey(b1.key), b1)
	o.set(compKey(a2.key), a2) // replaces a1
	o.removeIf(compKey(a1.key), a1)
	tests := []struct {
		name      string
		group     string
		wantLen   int
		wantEntry *pendingEntry
	}{
		{"newer entry survives removal of the older", "a", 1, a2},
		{"other group untouched", "b", 1, b1},
		{"unknown group is empty", "c", 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := o.group([]byte(tc.group))
			if len(g) != tc.wantLen {
				t.Fatalf("group %s has %d entries, want %d", tc.group, len(g), tc.wantLen)
			}
			for _, e := range g {
				if e != tc.wantEntry {
					t.Fatalf("group %s entry ticket %d, want %d", tc.group, e.ticket, tc.wantEntry.ticket)
				}
			}
		})
	}
	o.removeIf(compKey(a2.key), a2)
	o.removeIf(compKey(b1.key), b1)
	if o.len() != 0 || len(o.byGroup) != 0 {
		t.Fatalf("after removing everything: %d entries, %d groups", o.len(), len(o.byGroup))
	}
}
