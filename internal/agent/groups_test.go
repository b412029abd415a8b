package agent

import (
	"fmt"
	"testing"
)

// TestGroupTableBounds: beyond MaxLoadedGroups idle groups are unloaded and
// load again transparently; requests for unknown groups leave no entries.
func TestGroupTableBounds(t *testing.T) {
	ctx := ctxT(t)
	ta := newTestAgent(t, agentOpts{maxLoaded: 4})
	const n = 12
	for i := 0; i < n; i++ {
		id := []byte(fmt.Sprintf("g%02d", i))
		if _, err := ta.c.Create(ctx, CreateRequest{Name: string(id)}); err != nil {
			t.Fatal(err)
		}
		if _, err := ta.c.Update(ctx, id, UpdateRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := ta.a.groups.loaded(); got > 4 {
		t.Errorf("loaded groups = %d, want at most 4", got)
	}
	for i := 0; i < n; i++ {
		id := []byte(fmt.Sprintf("g%02d", i))
		r, err := ta.c.Update(ctx, id, UpdateRequest{})
		if err != nil || r.Epoch != 2 {
			t.Fatalf("Update %s after unloading = %+v, %v; want epoch 2", id, r, err)
		}
		if _, err := ta.c.Send(ctx, id, SendRequest{Text: "still works"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := ta.a.groups.loaded(); got > 4 {
		t.Errorf("loaded groups = %d, want at most 4", got)
	}
	list, err := ta.c.List(ctx)
	if err != nil || len(list.Groups) != n {
		t.Fatalf("List = %d groups, %v; want %d", len(list.Groups), err, n)
	}
	ta.a.groups.mu.Lock()
	before := len(ta.a.groups.m)
	ta.a.groups.mu.Unlock()
	for i := 0; i < 50; i++ {
		_, _ = ta.c.Info(ctx, []byte(fmt.Sprintf("unknown-%d", i)))
	}
	ta.a.groups.mu.Lock()
	after := len(ta.a.groups.m)
	ta.a.groups.mu.Unlock()
	if after > before {
		t.Errorf("entries grew from %d to %d after requests for unknown groups", before, after)
	}
}
