package agent

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/schedule"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// wipeDestination deletes every object of the destination, as when the
// bucket is deleted and created again.
func wipeDestination(t *testing.T, ta *testAgent) {
	t.Helper()
	ctx := context.Background()
	objs, err := ta.store.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if err := ta.store.Delete(ctx, o.Key); err != nil {
			t.Fatal(err)
		}
	}
}

// waitFor polls cond until it holds or 20 s pass (a bound on a wait, not
// an assertion on timing); it reports whether cond held.
func waitFor(cond func() bool) bool {
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// metric returns the value of the sample named exactly name (with its
// labels) in the agent's metrics, or -1.
func metric(t *testing.T, ta *testAgent, name string) float64 {
	t.Helper()
	text, err := ta.c.Metrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err == nil {
				return f
			}
		}
	}
	return -1
}

// TestReconcileReuploadsAfterBucketRecreated: the bucket is deleted and
// created again under a running agent. At the next reconciliation (every
// snapshot.reconcile_interval) the agent sees it, uploads again the groups
// whose epoch did not move, and status and metrics report what is really
// there.
func TestReconcileReuploadsAfterBucketRecreated(t *testing.T) {
	ctx := ctxT(t)
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clock := schedule.NewFakeClock(start)
	ta := newTestAgent(t, agentOpts{clock: clock, edit: func(c *config.Config) { c.Snapshot.ReconcileInterval = time.Hour }})
	a, b := []byte("a"), []byte("b")
	for _, g := range [][]byte{a, b} {
		if _, err := ta.c.Create(ctx, CreateRequest{Name: string(g)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ta.c.Update(ctx, b, UpdateRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ta.a.SnapshotPass(ctx); err != nil {
		t.Fatal(err)
	}
	wipeDestination(t, ta)

	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := clock.WaitDeadline(wait, start.Add(time.Hour)); err != nil {
		t.Fatalf("no reconciliation an hour after start: %v (timers at %v)", err, clock.Deadlines())
	}
	clock.Set(start.Add(time.Hour))
	back := waitFor(func() bool { return len(ta.uploadedEpochs(a)) > 0 && len(ta.uploadedEpochs(b)) > 0 })
	ta.idle()
	if ga, gb := ta.uploadedEpochs(a), ta.uploadedEpochs(b); !back || !reflect.DeepEqual(ga, []uint64{0}) || !reflect.DeepEqual(gb, []uint64{1}) {
		t.Fatalf("after the reconciliation: a %v, b %v; want [0] and [1] uploaded again", ga, gb)
	}
	st, err := ta.c.Status(ctx)
	if err != nil || st.Uploaded != 2 {
		t.Errorf("status %+v, %v; want 2 groups uploaded", st, err)
	}
	if got := metric(t, ta, "mlsbackup_reconcile_missing_total"); got != 2 {
		t.Errorf("mlsbackup_reconcile_missing_total = %v, want 2", got)
	}
	if got := metric(t, ta, `mlsbackup_last_upload_epoch{group="62"}`); got != 1 {
		t.Errorf("last upload epoch of b = %v, want 1", got)
	}
}

// TestReconcileAtStartReuploadsMissing: an agent that starts on a
// destination that lost its snapshots (the bucket was recreated while it
// was down) uploads again every group it had snapshotted, and status and
// metrics never report the lost uploads.
func TestReconcileAtStartReuploadsMissing(t *testing.T) {
	ctx := ctxT(t)
	ta := newTestAgent(t, agentOpts{})
	gid := []byte("g")
	if _, err := ta.c.Create(ctx, CreateRequest{Name: "g"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ta.c.Update(ctx, gid, UpdateRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ta.c.Snapshot(ctx, gid); err != nil {
		t.Fatal(err)
	}
	ta.stop()
	wipeDestination(t, ta)
	ta.start(0)
	back := waitFor(func() bool { return len(ta.uploadedEpochs(gid)) > 0 })
	ta.idle()
	if got := ta.uploadedEpochs(gid); !back || !reflect.DeepEqual(got, []uint64{1}) {
		t.Fatalf("after the restart: uploaded epochs %v, want [1] uploaded again", got)
	}
	if info, err := ta.c.Info(ctx, gid); err != nil || info.LastUpload == nil || info.LastUpload.Epoch != 1 {
		t.Errorf("info %+v, %v; want the last upload at epoch 1", info, err)
	}
}

// listFailStore fails every List while fail is set.
type listFailStore struct {
	uploader.ObjectStore
	fail atomic.Bool
}

func (s *listFailStore) List(ctx context.Context, prefix string) ([]uploader.ObjectInfo, error) {
	if s.fail.Load() {
		return nil, errors.New("injected: listing failed")
	}
	return s.ObjectStore.List(ctx, prefix)
}

// TestReconcileListingFailureKeepsKnowledge: a listing that fails is not
// taken for an empty destination: it is counted, what was known stays
// (status, metrics) and nothing is uploaded again.
func TestReconcileListingFailureKeepsKnowledge(t *testing.T) {
	ctx := ctxT(t)
	ta := newTestAgent(t, agentOpts{})
	st := &listFailStore{ObjectStore: ta.store}
	ta.stop()
	ta.optStore = st
	ta.start(0)
	gid := []byte("g")
	if _, err := ta.c.Create(ctx, CreateRequest{Name: "g"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ta.c.Snapshot(ctx, gid); err != nil {
		t.Fatal(err)
	}
	st.fail.Store(true)
	ev, err := ta.a.sched.get().ReconcileNow(ctx)
	if err != nil || ev.Err == nil || ev.Missing != 0 {
		t.Fatalf("ReconcileNow = %+v, %v; want the listing error", ev, err)
	}
	st.fail.Store(false)
	if s, err := ta.c.Status(ctx); err != nil || s.Uploaded != 1 {
		t.Errorf("status %+v, %v; want the upload still known", s, err)
	}
	if got := metric(t, ta, `mlsbackup_reconcile_runs_total{result="failed"}`); got != 1 {
		t.Errorf(`mlsbackup_reconcile_runs_total{result="failed"} = %v, want 1`, got)
	}
	if got := metric(t, ta, `mlsbackup_last_upload_epoch{group="67"}`); got != 0 {
		t.Errorf("last upload epoch = %v, want 0 (still known)", got)
	}
	if got := ta.uploadedEpochs(gid); !reflect.DeepEqual(got, []uint64{0}) {
		t.Errorf("uploaded epochs %v, want [0] (nothing uploaded again)", got)
	}
}

// TestAgentAppliesRetentionAfterPass: the agent applies retention.keep_last
// itself after each of its passes; snapshots no longer pile up. (The first
// pass snapshots every group and is followed by a retention of the whole
// destination, the next ones move one group of 20 and by a retention of
// that group.)
func TestAgentAppliesRetentionAfterPass(t *testing.T) {
	ctx := ctxT(t)
	ta := newTestAgent(t, agentOpts{edit: func(c *config.Config) { c.Retention.KeepLast, c.Retention.KeepWithin = 3, 0 }})
	gid := []byte("kept")
	for i := range 20 {
		name := fmt.Sprintf("idle-%d", i)
		if i == 0 {
			name = string(gid)
		}
		if _, err := ta.c.Create(ctx, CreateRequest{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 6 {
		if _, err := ta.c.Update(ctx, gid, UpdateRequest{}); err != nil {
			t.Fatal(err)
		}
		if _, err := ta.a.SnapshotPass(ctx); err != nil {
			t.Fatal(err)
		}
		if got := ta.uploadedEpochs(gid); len(got) > 3 {
			t.Fatalf("after pass %d: %d snapshots %v, want at most keep_last 3", i+1, len(got), got)
		}
	}
	if got := ta.uploadedEpochs(gid); !reflect.DeepEqual(got, []uint64{4, 5, 6}) {
		t.Errorf("snapshots %v, want the newest three [4 5 6]", got)
	}
	if got := metric(t, ta, "mlsbackup_retention_deleted_total"); got != 3 {
		t.Errorf("mlsbackup_retention_deleted_total = %v, want 3", got)
	}
}

// TestNoDuplicateUploadOfSameEpoch: an epoch already uploaded is not
// uploaded again, whatever asks: a request after an every-N-epochs
// snapshot, a second request (snapshot --group, then --all), a pass, and
// a request after a restart (known from the listing at start).
func TestNoDuplicateUploadOfSameEpoch(t *testing.T) {
	ctx := ctxT(t)
	ta := newTestAgent(t, agentOpts{everyEpochs: 1})
	gid := []byte("dup")
	if _, err := ta.c.Create(ctx, CreateRequest{Name: "dup"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ta.c.Update(ctx, gid, UpdateRequest{}); err != nil {
		t.Fatal(err)
	}
	ta.idle()
	steps := []struct {
		name string
		do   func() (uint64, error)
	}{
		{"request after the epoch snapshot", func() (uint64, error) { return ta.c.Snapshot(ctx, gid) }},
		{"second request", func() (uint64, error) { return ta.c.Snapshot(ctx, gid) }},
		{"pass", func() (uint64, error) { _, err := ta.a.SnapshotPass(ctx); return 1, err }},
		{"request after a restart", func() (uint64, error) {
			ta.stop()
			ta.start(0)
			return ta.c.Snapshot(ctx, gid)
		}},
	}
	for _, st := range steps {
		epoch, err := st.do()
		if err != nil || epoch != 1 {
			t.Fatalf("%s: epoch %d, %v; want 1", st.name, epoch, err)
		}
		if got := ta.uploadedEpochs(gid); !reflect.DeepEqual(got, []uint64{1}) {
			t.Errorf("%s: uploaded epochs %v, want [1] once", st.name, got)
		}
	}
}

// TestInlineUploadLogNamesManifestKey: every key the upload log lines
// name (the agent's "snapshot uploaded", the uploader's "uploaded
// snapshot") is an object really at the destination: for an inline
// snapshot its one object snapshot.json, else manifest.json and
// snapshot.age.
func TestInlineUploadLogNamesManifestKey(t *testing.T) {
	for _, inline := range []int64{config.MaxInlineBytes, 0} {
		ctx := ctxT(t)
		var logged syncBuffer
		ta := newTestAgent(t, agentOpts{logw: &logged, edit: func(c *config.Config) { c.Destination.InlineMax = inline }})
		gid := []byte("log")
		if _, err := ta.c.Create(ctx, CreateRequest{Name: "log"}); err != nil {
			t.Fatal(err)
		}
		if _, err := ta.c.Snapshot(ctx, gid); err != nil {
			t.Fatal(err)
		}
		want := []string{"snapshot.json"}
		if inline == 0 {
			want = []string{"manifest.json", "snapshot.age"}
		}
		lines := 0
		for _, line := range strings.Split(logged.String(), "\n") {
			if !strings.Contains(line, `msg="snapshot uploaded"`) && !strings.Contains(line, `msg="uploaded snapshot"`) {
				continue
			}
			lines++
			var names []string
			for _, f := range strings.Fields(line) {
				name, key, ok := strings.Cut(f, "=")
				if !ok || (name != "key" && name != "data_key") {
					continue
				}
				if _, err := ta.store.Stat(ctx, key); err != nil {
					t.Errorf("inline_max %d: %q names %s, which is not at the destination: %v", inline, line, key, err)
				}
				names = append(names, key[strings.LastIndexByte(key, '/')+1:])
			}
			if !reflect.DeepEqual(names, want) {
				t.Errorf("inline_max %d: %q names %v, want %v", inline, line, names, want)
			}
		}
		if lines != 2 {
			t.Errorf("inline_max %d: %d upload log lines, want 2", inline, lines)
		}
	}
}
