package agent

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/localstore"
)

// TestSnapshotPass: a pass on request snapshots every group whose epoch
// moved since its last upload, and only those.
func TestSnapshotPass(t *testing.T) {
	ctx := ctxT(t)
	ta := newTestAgent(t, agentOpts{everyEpochs: 0})
	ids := make([][]byte, 3)
	for i := range ids {
		ids[i] = []byte(fmt.Sprintf("pass-%d", i))
		if _, err := ta.a.Create(ctx, "", ids[i], 0); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name   string
		update [][]byte // groups to move first
		want   int      // groups the pass snapshots
	}{
		{"first pass uploads every group", nil, 3},
		{"nothing moved", nil, 0},
		{"one group moved", [][]byte{ids[1]}, 1},
	}
	for _, st := range steps {
		for _, id := range st.update {
			if _, err := ta.a.Update(ctx, "", id, false); err != nil {
				t.Fatal(err)
			}
		}
		ev, err := ta.a.SnapshotPass(ctx)
		if err != nil || ev.Groups != 3 || ev.Requested != st.want {
			t.Errorf("%s: pass %+v, %v; want 3 groups listed, %d snapshotted", st.name, ev, err, st.want)
		}
	}
	wantEpochs := map[string][]uint64{"pass-0": {0}, "pass-1": {0, 1}, "pass-2": {0}}
	for _, id := range ids {
		if got := ta.uploadedEpochs(id); !reflect.DeepEqual(got, wantEpochs[string(id)]) {
			t.Errorf("%s: uploaded epochs %v, want %v", id, got, wantEpochs[string(id)])
		}
	}
}

// TestLocalSnapshotWrittenOnce: a snapshot whose bytes are the group's last
// local snapshot (uploaded again after the destination lost it) is not
// written again locally; a new epoch is. A request at an epoch already
// uploaded uploads nothing.
func TestLocalSnapshotWrittenOnce(t *testing.T) {
	ctx := ctxT(t)
	ta := newTestAgent(t, agentOpts{everyEpochs: 0})
	gid := []byte("once")
	if _, err := ta.a.Create(ctx, "", gid, 0); err != nil {
		t.Fatal(err)
	}
	epochFile := filepath.Join(ta.cfg.DataDir, "mls", "groups", hex.EncodeToString(gid), "snapshots", "epoch_0.snapshot")
	steps := []struct {
		name   string
		update bool
		// lose removes epoch_0.snapshot and empties the destination, then
		// reconciles instead of requesting a snapshot.
		lose       bool
		wantLocal  []uint64
		wantRemote []uint64
	}{
		{"first snapshot", false, false, []uint64{0}, []uint64{0}},
		{"same epoch again", false, false, []uint64{0}, []uint64{0}},
		{"destination lost it: same bytes again", false, true, nil, []uint64{0}},
		{"new epoch", true, false, []uint64{1}, []uint64{0, 1}},
	}
	for _, st := range steps {
		if st.update {
			if _, err := ta.a.Update(ctx, "", gid, false); err != nil {
				t.Fatal(err)
			}
		}
		if st.lose {
			if err := os.Remove(epochFile); err != nil {
				t.Fatal(err)
			}
			wipeDestination(t, ta)
			if ev, err := ta.a.sched.get().ReconcileNow(ctx); err != nil || ev.Missing != 1 || ev.Failed != 0 {
				t.Fatalf("%s: reconcile %+v, %v; want 1 group uploaded again", st.name, ev, err)
			}
		} else if _, err := ta.a.SnapshotNow(ctx, gid); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got, err := ta.a.Store().ListSnapshots(ctx, gid)
		if err != nil || !reflect.DeepEqual(got, st.wantLocal) {
			t.Errorf("%s: local snapshot epochs %v, %v; want %v", st.name, got, err, st.wantLocal)
		}
		if got := ta.uploadedEpochs(gid); !reflect.DeepEqual(got, st.wantRemote) {
			t.Errorf("%s: uploaded epochs %v, want %v", st.name, got, st.wantRemote)
		}
	}
}

// TestNoLocalSnapshots: with snapshot.local_keep 0 snapshots are uploaded
// and no local copy is written.
func TestNoLocalSnapshots(t *testing.T) {
	ctx := ctxT(t)
	ta := newTestAgent(t, agentOpts{edit: func(c *config.Config) { c.Snapshot.LocalKeep = 0 }})
	gid := []byte("nolocal")
	if _, err := ta.a.Create(ctx, "", gid, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := ta.a.Update(ctx, "", gid, false); err != nil {
		t.Fatal(err)
	}
	if _, err := ta.a.SnapshotNow(ctx, gid); err != nil {
		t.Fatal(err)
	}
	if got := ta.uploadedEpochs(gid); !reflect.DeepEqual(got, []uint64{1}) {
		t.Errorf("uploaded epochs %v, want [1]", got)
	}
	if _, _, err := ta.a.Store().LatestSnapshot(ctx, gid); !errors.Is(err, localstore.ErrNoSnapshot) {
		t.Errorf("local snapshot: %v, want none (local_keep 0)", err)
	}
}
