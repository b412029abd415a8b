package uploader

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestPruneRetention(t *testing.T) {
	// Group "g" has epochs 1..6, one snapshot an hour; group "h" has one.
	tests := []struct {
		name     string
		r        Retention
		wantKept []uint64 // epochs of g kept
	}{
		{"keep last 2", Retention{KeepLast: 2}, []uint64{5, 6}},
		{"keep last 10", Retention{KeepLast: 10}, []uint64{1, 2, 3, 4, 5, 6}},
		{"keep within 2h30m", Retention{KeepWithin: 150 * time.Minute}, []uint64{4, 5, 6}},
		{"keep within 1ns keeps the newest", Retention{KeepWithin: time.Nanosecond}, []uint64{6}},
		{"either rule keeps", Retention{KeepLast: 1, KeepWithin: 90 * time.Minute}, []uint64{5, 6}},
		{"max age over keep last", Retention{KeepLast: 10, MaxAge: 2 * time.Hour}, []uint64{5, 6}},
		{"max age over keep within", Retention{KeepWithin: 5 * time.Hour, MaxAge: 3 * time.Hour}, []uint64{4, 5, 6}},
		{"max age keeps a live group's newest", Retention{KeepLast: 3, MaxAge: time.Minute}, []uint64{6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newMemStore()
			clock := newFakeClock()
			b := newTestBackup(t, store, newTestKeys(t), func(o *Options) { o.Now = clock.Now })
			mustUpload(t, b, "h", 1, []byte("h"))
			for e := uint64(1); e <= 6; e++ {
				clock.Advance(time.Hour)
				mustUpload(t, b, "g", e, []byte{byte(e)})
			}
			clock.Advance(30 * time.Minute)
			before := store.keys()
			dry, err := b.Prune(context.Background(), tt.r, true)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(store.keys(), before) {
				t.Fatal("dry run deleted objects")
			}
			rep, err := b.Prune(context.Background(), tt.r, false)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(dry.Deleted, rep.Deleted, func(a, b Ref) bool { return a.Key == b.Key }) {
				t.Errorf("dry run would delete %d, real run deleted %d", len(dry.Deleted), len(rep.Deleted))
			}
			ms, err := b.List(context.Background(), []byte("g"))
			if err != nil {
				t.Fatal(err)
			}
			var got []uint64
			for _, m := range ms {
				got = append(got, m.Epoch)
			}
			if !slices.Equal(got, tt.wantKept) {
				t.Errorf("kept epochs %v, want %v", got, tt.wantKept)
			}
			if hs, _ := b.List(context.Background(), []byte("h")); len(hs) != 1 {
				t.Errorf("group h's only snapshot was pruned")
			}
			if len(rep.Deleted)+len(tt.wantKept)+1 != 7 || len(rep.Kept) != len(tt.wantKept)+1 {
				t.Errorf("report: %d deleted, %d kept", len(rep.Deleted), len(rep.Kept))
			}
			// Deleted snapshots leave no objects behind.
			for _, ref := range rep.Deleted {
				for _, k := range store.keys() {
					if k == ref.Key || k == ref.DataKey {
						t.Errorf("pruned snapshot left %s", k)
					}
				}
			}
		})
	}
}

func TestPruneKeepsNewestWithData(t *testing.T) {
	store := newMemStore()
	clock := newFakeClock()
	b := newTestBackup(t, store, newTestKeys(t), func(o *Options) { o.Now = clock.Now })
	for e := uint64(1); e <= 3; e++ {
		clock.Advance(time.Hour)
		mustUpload(t, b, "g", e, []byte{byte(e)})
	}
	ms, _ := b.List(context.Background(), nil)
	// The newest snapshot lost its data (manual damage): the newest one
	// that can still be restored must survive too.
	if err := store.Delete(context.Background(), ms[2].DataKey); err != nil {
		t.Fatal(err)
	}
	rep, err := b.Prune(context.Background(), Retention{KeepLast: 1}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Kept) != 2 || rep.Kept[0].Epoch != 2 || rep.Kept[1].Epoch != 3 {
		t.Errorf("kept %+v, want epochs 2 and 3", rep.Kept)
	}
}

// TestPruneMaxAgeLeftGroup: a group that is no longer live loses every
// snapshot older than MaxAge, its newest included, while a live group
// keeps its newest restorable one however old.
func TestPruneMaxAgeLeftGroup(t *testing.T) {
	store := newMemStore()
	clock := newFakeClock()
	b := newTestBackup(t, store, newTestKeys(t), func(o *Options) { o.Now = clock.Now })
	mustUpload(t, b, "left", 1, []byte("l"))
	for e := uint64(1); e <= 3; e++ {
		clock.Advance(time.Hour)
		mustUpload(t, b, "live", e, []byte{byte(e)})
	}
	ms, _ := b.List(context.Background(), []byte("live"))
	if err := store.Delete(context.Background(), ms[2].DataKey); err != nil { // the newest lost its data
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	r := Retention{KeepLast: 10, MaxAge: 90 * time.Minute, Live: func(g []byte) bool { return string(g) == "live" }}
	rep, err := b.Prune(context.Background(), r, false)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, ref := range rep.Kept {
		kept = append(kept, fmt.Sprintf("%s/%d", ref.GroupID, ref.Epoch))
	}
	if want := []string{"live/2", "live/3"}; !slices.Equal(kept, want) {
		t.Errorf("kept %v, want %v (the left group's snapshot is 4h old, max age 90m)", kept, want)
	}
	if hs, _ := b.List(context.Background(), []byte("left")); len(hs) != 0 {
		t.Errorf("the left group still has %d snapshots", len(hs))
	}
	if _, err := b.Prune(context.Background(), Retention{KeepLast: 1, MaxAge: -time.Second}, true); err == nil {
		t.Error("prune with a negative max age succeeded")
	}
}

func TestPruneRejectsEmptyRetention(t *testing.T) {
	b := newTestBackup(t, newMemStore(), newTestKeys(t), nil)
	for _, r := range []Retention{{}, {OrphanAge: time.Hour}, {KeepLast: -1}} {
		if _, err := b.Prune(context.Background(), r, false); err == nil {
			t.Errorf("prune with %+v succeeded", r)
		}
	}
	if _, err := b.Prune(context.Background(), Retention{}, true); !errors.Is(err, ErrNoRetention) {
		t.Errorf("got %v, want ErrNoRetention", err)
	}
}

func TestPruneLeavesUnknownKeys(t *testing.T) {
	store := newMemStore()
	b := newTestBackup(t, store, newTestKeys(t), nil)
	mustUpload(t, b, "g", 1, []byte("x"))
	stray := "test/prefix/groups/67/notes.txt"
	store.objs[stray] = []byte("hello")
	rep, err := b.Prune(context.Background(), Retention{KeepLast: 1}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Unknown, []string{stray}) {
		t.Errorf("unknown = %v, want [%s]", rep.Unknown, stray)
	}
	if _, ok := store.objs[stray]; !ok {
		t.Error("prune deleted a key outside the layout")
	}
}

// TestPruneKeepsChainContiguous: when the newest snapshots lack their data
// and retention keeps an older one that has it, the snapshots between are
// kept too, so that the group's chain has no gap.
func TestPruneKeepsChainContiguous(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	b := newTestBackup(t, store, newTestKeys(t), nil)
	var ms []Manifest
	for e := uint64(1); e <= 4; e++ {
		ms = append(ms, mustUpload(t, b, "g", e, []byte("state")))
	}
	for _, m := range ms[2:] {
		if err := store.Delete(ctx, m.DataKey); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := b.Prune(ctx, Retention{KeepLast: 1}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Deleted) != 1 || rep.Deleted[0].Key != ms[0].Key || len(rep.Kept) != 3 {
		t.Fatalf("deleted %v, kept %d; want only epoch 1 deleted", rep.Deleted, len(rep.Kept))
	}
	if errs := ChainErrors(listGroup(t, b, "g")); len(errs) != 0 {
		t.Errorf("chain after prune: %v", errs)
	}
}
