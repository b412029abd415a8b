package restore

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
)

// TestOpenOnImport: restoring every group into a data directory that holds
// no data yet opens it once, at the first import, and imports every group;
// a group another writer stored before that is not overwritten.
func TestOpenOnImport(t *testing.T) {
	ctx := context.Background()
	b := newBucket(t)
	real := engine.NewMemStorage()
	for i, name := range []string{"group-a", "group-b", "group-c", "group-d"} {
		p := newPair(t, name)
		b.snapshot(t, p.bob, nil)
		if i == 0 { // another writer stores group-a before the restore opens
			data, _, err := engine.ExportSnapshot(ctx, p.alice.st, p.alice.g.GroupID())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := engine.ImportSnapshot(ctx, real, data, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	var opens atomic.Int32
	dst := &OpenOnImport{Open: func(context.Context) (Target, error) {
		opens.Add(1)
		return StoreTarget{Storage: real}, nil
	}}
	res, err := Run(ctx, b.backup, dst, Request{All: true}, Options{Concurrency: 3})
	if !errors.Is(err, engine.ErrGroupExists) {
		t.Fatalf("err = %v, want group-a refused with ErrGroupExists", err)
	}
	if n := opens.Load(); n != 1 {
		t.Fatalf("opened %d times, want once", n)
	}
	for _, r := range res {
		want := StatusRestored
		if string(r.Group) == "group-a" {
			want = StatusFailed
		}
		if r.Status != want {
			t.Errorf("group %s: %s (%v), want %s", r.Group, r.Status, r.Err, want)
		}
	}
	// The other writer stored alice's state (leaf 0); the bucket holds bob's.
	g, err := engine.LoadGroup(ctx, real, []byte("group-a"), engine.Options{})
	if err != nil || g.OwnIndex() != 0 {
		t.Fatalf("group-a after the restore: %v, %v; want the other writer's group (alice, leaf 0)", g, err)
	}
}
