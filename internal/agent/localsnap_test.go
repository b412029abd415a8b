package agent

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/config"
)

// snapshotFiles lists the files in the group's local snapshot directory.
func snapshotFiles(t *testing.T, ta *testAgent, gid []byte) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(ta.cfg.DataDir, "mls", "groups", hex.EncodeToString(gid), "snapshots"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// TestRemovedMemberLocalSnapshotsDeleted is issue 18's third defect: after
// carol was removed, her local snapshot files (with her leaf and path
// private keys) survived a clean stop and a restart that reported no
// groups. They now go with the group: in the applier round after the
// batch of the commit that removes her, so before a clean stop ends.
// Alice takes the removal snapshot first (snapshot.before_remove).
func TestRemovedMemberLocalSnapshotsDeleted(t *testing.T) {
	ctx := ctxT(t)
	alice := newTestAgent(t, agentOpts{identity: "alice", beforeRemove: true})
	carol := newTestAgent(t, agentOpts{identity: "carol"})
	gid := []byte("leaving")
	twoMemberGroup(ctx, t, alice, carol, gid)
	if _, err := carol.c.Snapshot(ctx, gid); err != nil {
		t.Fatal(err)
	}
	if files := snapshotFiles(t, carol, gid); len(files) != 2 {
		t.Fatalf("carol's local snapshot files before the removal: %v, want epoch_1.snapshot and latest.snapshot", files)
	}
	rm, err := alice.c.Remove(ctx, gid, RemoveRequest{Members: []string{"carol"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := alice.uploadedEpochs(gid); !reflect.DeepEqual(got, []uint64{1}) {
		t.Fatalf("alice's removal snapshot: uploaded epochs %v, want [1]", got)
	}
	res, err := carol.c.Receive(ctx, ReceiveRequest{Message: rm.Commit})
	if err != nil || res.Commit == nil || !res.Commit.SelfRemoved {
		t.Fatalf("carol processes her removal: %+v, %v", res, err)
	}
	carol.stop()
	if files := snapshotFiles(t, carol, gid); len(files) != 0 {
		t.Fatalf("after carol was removed and stopped, her local snapshot files remain: %v", files)
	}
	carol.start(0)
	list, err := carol.c.List(ctx)
	if err != nil || len(list.Groups) != 0 {
		t.Fatalf("carol's groups after the restart: %+v, %v; want none", list, err)
	}
	if files := snapshotFiles(t, carol, gid); len(files) != 0 {
		t.Fatalf("after a restart, carol's local snapshot files remain: %v", files)
	}
}

// TestRetentionMaxAgeBoundsBackups: retention.max_age deletes the
// snapshots older than it over keep_last and keep_within, except the
// newest of a group the agent still holds; a group its member was removed
// from loses its last snapshot too.
func TestRetentionMaxAgeBoundsBackups(t *testing.T) {
	ctx := ctxT(t)
	const maxAge = 200 * time.Millisecond
	alice := newTestAgent(t, agentOpts{identity: "alice"})
	carol := newTestAgent(t, agentOpts{identity: "carol", edit: func(c *config.Config) { c.Retention.MaxAge = maxAge }})
	mine, left := []byte("mine"), []byte("left")
	if _, err := carol.c.Create(ctx, CreateRequest{Name: string(mine)}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := carol.c.Update(ctx, mine, UpdateRequest{}); err != nil {
			t.Fatal(err)
		}
		if _, err := carol.c.Snapshot(ctx, mine); err != nil {
			t.Fatal(err)
		}
	}
	twoMemberGroup(ctx, t, alice, carol, left)
	if _, err := carol.c.Snapshot(ctx, left); err != nil {
		t.Fatal(err)
	}
	rm, err := alice.c.Remove(ctx, left, RemoveRequest{Members: []string{"carol"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := carol.c.Receive(ctx, ReceiveRequest{Message: rm.Commit}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(maxAge + 100*time.Millisecond) // every snapshot is older than max_age
	if ev, err := carol.a.sched.get().ReconcileNow(ctx); err != nil || ev.RetainErr != nil {
		t.Fatalf("reconcile: %+v, %v", ev, err)
	}
	if got := carol.uploadedEpochs(mine); !reflect.DeepEqual(got, []uint64{2}) {
		t.Errorf("carol's live group keeps epochs %v, want [2] (its newest, whatever its age)", got)
	}
	if got := carol.uploadedEpochs(left); len(got) != 0 {
		t.Errorf("the group carol was removed from keeps epochs %v, want none past max_age", got)
	}
}
