package uploader

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// listRecorder records the prefixes its store is listed with.
type listRecorder struct {
	ObjectStore
	mu       sync.Mutex
	prefixes []string
}

func (s *listRecorder) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	s.mu.Lock()
	s.prefixes = append(s.prefixes, prefix)
	s.mu.Unlock()
	return s.ObjectStore.List(ctx, prefix)
}

// listed returns the prefixes listed since the last call.
func (s *listRecorder) listed() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.prefixes
	s.prefixes = nil
	return out
}

// TestPruneGroupsTouchesOnlyThoseGroups: PruneGroups applies the same
// rules as Prune, to the named groups only (a group whose id is a prefix
// of another's included), and lists only them.
func TestPruneGroupsTouchesOnlyThoseGroups(t *testing.T) {
	store := &listRecorder{ObjectStore: newMemStore()}
	clock := newFakeClock()
	b := newTestBackup(t, store, newTestKeys(t), func(o *Options) { o.Now = clock.Now })
	for e := uint64(1); e <= 4; e++ {
		clock.Advance(time.Hour)
		for _, g := range []string{"g", "gg", "h"} {
			mustUpload(t, b, g, e, []byte{byte(e)})
		}
	}
	store.listed() // forget the listings of the uploads
	rep, err := b.PruneGroups(context.Background(), Retention{KeepLast: 2}, [][]byte{[]byte("g"), []byte("h")})
	if err != nil {
		t.Fatal(err)
	}
	listed := store.listed()
	want := map[string][]uint64{"g": {3, 4}, "gg": {1, 2, 3, 4}, "h": {3, 4}}
	for g, epochs := range want {
		ms, err := b.List(context.Background(), []byte(g))
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, m := range ms {
			got = append(got, m.Epoch)
		}
		if !slices.Equal(got, epochs) {
			t.Errorf("group %s keeps epochs %v, want %v", g, got, epochs)
		}
	}
	if len(rep.Deleted) != 4 || len(rep.Kept) != 4 {
		t.Errorf("report: %d deleted, %d kept; want 4, 4", len(rep.Deleted), len(rep.Kept))
	}
	slices.Sort(listed)
	if wantListed := []string{b.layout.groupsPrefix([]byte("g")), b.layout.groupsPrefix([]byte("h"))}; !slices.Equal(listed, wantListed) {
		t.Errorf("listed %v, want only %v", listed, wantListed)
	}
	if rep, err := b.PruneGroups(context.Background(), Retention{KeepLast: 2}, nil); err != nil || len(rep.Deleted)+len(rep.Kept) != 0 {
		t.Errorf("PruneGroups of no group = %+v, %v; want nothing", rep, err)
	}
}
