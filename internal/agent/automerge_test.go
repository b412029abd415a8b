package agent

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/localstore"
)

// TestUnmergedCommitCleared: a create-and-merge request killed between the
// commit and the merge leaves a pending commit nobody received; the agent
// clears it at start. A no_merge commit, and one made after a marked
// commit was merged, stay pending.
func TestUnmergedCommitCleared(t *testing.T) {
	tests := []struct {
		name string
		// setup leaves the group with a pending commit, as the store holds
		// it when the process dies.
		setup       func(ctx context.Context, t *testing.T, st *localstore.Store, g *engine.Group)
		wantPending bool
		wantEpoch   uint64
	}{
		{"killed between commit and merge", func(ctx context.Context, t *testing.T, st *localstore.Store, g *engine.Group) {
			if _, err := st.Begin(ctx, autoMergeKind(g.GroupID(), g.Epoch()), nil); err != nil {
				t.Fatal(err)
			}
			commit(ctx, t, g)
		}, false, 0},
		{"no_merge commit", func(ctx context.Context, t *testing.T, _ *localstore.Store, g *engine.Group) {
			commit(ctx, t, g)
		}, true, 0},
		{"killed after the merge, then a no_merge commit", func(ctx context.Context, t *testing.T, st *localstore.Store, g *engine.Group) {
			if _, err := st.Begin(ctx, autoMergeKind(g.GroupID(), g.Epoch()), nil); err != nil {
				t.Fatal(err)
			}
			commit(ctx, t, g)
			if _, err := g.MergePendingCommit(ctx); err != nil {
				t.Fatal(err)
			}
			commit(ctx, t, g)
		}, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := ctxT(t)
			dir := filepath.Join(shortTempDir(t), "data")
			st, _, err := localstore.Open(context.Background(), fsx.OS{}, dir, localstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			gid := []byte("unmerged")
			g, err := engine.NewClient(st, []byte("alice"), engine.Options{}).CreateGroup(ctx, DefaultCipherSuite, gid)
			if err != nil {
				t.Fatal(err)
			}
			tt.setup(ctx, t, st, g)
			if err := st.Close(); err != nil { // the mark, if any, stays unfinished
				t.Fatal(err)
			}
			ta := newTestAgent(t, agentOpts{dataDir: dir})
			info, err := ta.a.Info(ctx, gid)
			if err != nil {
				t.Fatal(err)
			}
			if info.PendingCommit != tt.wantPending || info.Epoch != tt.wantEpoch {
				t.Fatalf("after start: pending commit %v at epoch %d, want %v at %d", info.PendingCommit, info.Epoch, tt.wantPending, tt.wantEpoch)
			}
			m, err := ta.c.Metrics(ctx)
			if err != nil {
				t.Fatal(err)
			}
			cleared := strings.Contains(m, `mlsbackup_recovery_events_total{kind="cleared_commit"} 1`)
			if cleared == tt.wantPending {
				t.Errorf("cleared_commit metric present = %v, want %v", cleared, !tt.wantPending)
			}
			if !tt.wantPending {
				// The group takes its next commit at once.
				if r, err := ta.a.Update(ctx, gid, false); err != nil || r.Epoch != tt.wantEpoch+1 {
					t.Fatalf("update after start: epoch %d, %v; want %d", r.Epoch, err, tt.wantEpoch+1)
				}
			}
		})
	}
}

// commit stores a self-update commit as pending.
func commit(ctx context.Context, t *testing.T, g *engine.Group) {
	t.Helper()
	if _, err := g.Commit(ctx, engine.CommitOptions{SelfUpdate: true}); err != nil {
		t.Fatal(err)
	}
}

// TestAutoMergeKind: marks parse back; other kinds do not.
func TestAutoMergeKind(t *testing.T) {
	tests := []struct {
		kind   string
		group  string
		epoch  uint64
		wantOK bool
	}{
		{autoMergeKind([]byte("g1"), 7), "g1", 7, true},
		{"SelfUpdate", "", 0, false},
		{"AutoMerge/zz/1", "", 0, false},
		{"AutoMerge//1", "", 0, false},
		{"AutoMerge/6731/x", "", 0, false},
		{"AutoMerge/6731", "", 0, false},
	}
	for _, tt := range tests {
		g, e, ok := parseAutoMergeKind(tt.kind)
		if ok != tt.wantOK || string(g) != tt.group || e != tt.epoch {
			t.Errorf("parseAutoMergeKind(%q) = %q, %d, %v; want %q, %d, %v", tt.kind, g, e, ok, tt.group, tt.epoch, tt.wantOK)
		}
	}
}
