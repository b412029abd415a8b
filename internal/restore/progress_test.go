package restore

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/uploader"
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

// progressBucket uploads snapshots of n groups, each advanced once
// after its first snapshot when twice is set; the first group's newest
// snapshot records a wrong epoch authenticator, so restoring it fails.
// It returns the groups' hex ids and the snapshots' names.
func progressBucket(t *testing.T, n int, twice bool) (b *bucket, groups, snapshots []string) {
	b = newBucket(t)
	for i := range n {
		p := newPair(t, fmt.Sprint("progress-", i))
		if twice {
			snapshots = append(snapshots, b.snapshot(t, p.bob, nil).Ref.String())
			p.advance(t)
		}
		m := b.snapshot(t, p.bob, func(m *uploader.SnapshotMeta) {
			if i == 0 {
				m.EpochAuthenticator = bytes.Repeat([]byte{1}, 32)
			}
		})
		snapshots = append(snapshots, m.Ref.String())
		groups = append(groups, hex.EncodeToString(p.bob.g.GroupID()))
	}
	return b, groups, snapshots
}

// TestRunReportsProgress: Run announces the number of groups, then
// counts each group as it finishes, restored or failed, naming it.
func TestRunReportsProgress(t *testing.T) {
	b, groups, _ := progressBucket(t, 5, false)
	for _, src := range []Source{b.backup, sourceOnly{b.backup}} {
		var l progressLog
		res, err := Run(context.Background(), src, StoreTarget{Storage: engine.NewMemStorage()}, Request{All: true},
			Options{Concurrency: 3, Progress: l.hook})
		if !errors.Is(err, ErrMismatch) || len(res) != len(groups) {
			t.Fatalf("%d results, err %v; want %d, the mismatch of one group", len(res), err, len(groups))
		}
		l.check(t, len(groups), groups)
	}
}

// TestVerifyReportsProgress: Verify announces the number of snapshots it
// downloads, then counts each, naming it, whether it verifies or not.
func TestVerifyReportsProgress(t *testing.T) {
	b, _, snapshots := progressBucket(t, 3, true)
	var l progressLog
	rep, err := Verify(context.Background(), b.backup, VerifyRequest{All: true, Concurrency: 2, Progress: l.hook})
	if err != nil || rep.Failed() != 1 {
		t.Fatalf("verify: %v, %d failed, want the mismatch of one snapshot", err, rep.Failed())
	}
	l.check(t, len(snapshots), snapshots)
}
