package restore

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
)

// progressLog records the calls of a progress hook. The hooks are
// serialized, so it needs no lock; -race tells if they are not.
type progressLog struct{ calls []string }

func (l *progressLog) hook(done, total int, item string) {
	l.calls = append(l.calls, fmt.Sprintf("%d/%d %s", done, total, item))
}

// check reports whether the calls announce total first, then count
// 1..total, each naming one of items, each item once.
func (l *progressLog) check(t *testing.T, total int, items []string) {
	t.Helper()
	if len(l.calls) != total+1 || l.calls[0] != fmt.Sprintf("0/%d ", total) {
		t.Fatalf("progress calls %q, want 0/%d first and one per item", l.calls, total)
	}
	var seen []string
	for i, c := range l.calls[1:] {
		prefix := fmt.Sprintf("%d/%d ", i+1, total)
		if !strings.HasPrefix(c, prefix) {
			t.Fatalf("call %d is %q, want %q...", i+1, c, prefix)
		}
		seen = append(seen, strings.TrimPrefix(c, prefix))
	}
	slices.Sort(seen)
	slices.Sort(items)
	if !slices.Equal(seen, items) {
		t.Fatalf("progress named %q, want %q", seen, items)
	}
}

// TestRunReportsProgress: Run announces the number of groups, then
// counts each group as it finishes, restored or failed, naming it.
func TestRunReportsProgress(t *testing.T) {
	ctx := context.Background()
	b := newBucket(t)
	var items []string
	for i := range 5 {
		p := newPair(t, fmt.Sprint("progress-", i))
		b.snapshot(t, p.bob, nil)
		items = append(items, hex.EncodeToString(p.bob.g.GroupID()))
	}
	for _, src := range []Source{b.backup, sourceOnly{b.backup}} {
		var l progressLog
		if _, err := Run(ctx, src, StoreTarget{Storage: engine.NewMemStorage()}, Request{All: true},
			Options{Concurrency: 3, Progress: l.hook}); err != nil {
			t.Fatal(err)
		}
		l.check(t, len(items), items)
	}
}

// TestVerifyReportsProgress: Verify announces the number of snapshots it
// downloads, then counts each, naming it.
func TestVerifyReportsProgress(t *testing.T) {
	ctx := context.Background()
	b := newBucket(t)
	var items []string
	for i := range 3 {
		p := newPair(t, fmt.Sprint("progress-", i))
		items = append(items, b.snapshot(t, p.bob, nil).Ref.String())
		p.advance(t)
		items = append(items, b.snapshot(t, p.bob, nil).Ref.String())
	}
	var l progressLog
	rep, err := Verify(ctx, b.backup, VerifyRequest{All: true, Concurrency: 2, Progress: l.hook})
	if err != nil || rep.Failed() != 0 {
		t.Fatalf("verify: %v, %d failed", err, rep.Failed())
	}
	l.check(t, len(items), items)
}
