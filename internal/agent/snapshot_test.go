package agent

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/localstore"
	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/dirstore"
)

// TestEveryNEpochs: with every_epochs N, snapshots appear at exactly epochs
// N, 2N, ... however fast the group moves, and each decrypts to a snapshot
// whose epoch authenticator is the one recorded in the manifest.
func TestEveryNEpochs(t *testing.T) {
	tests := []struct {
		every   uint64
		updates int
		want    []uint64
	}{
		{every: 3, updates: 7, want: []uint64{3, 6}},
		{every: 1, updates: 4, want: []uint64{1, 2, 3, 4}},
		{every: 5, updates: 4, want: []uint64{}},
	}
	for _, tc := range tests {
		t.Run("", func(t *testing.T) {
			ctx := ctxT(t)
			ta := newTestAgent(t, agentOpts{everyEpochs: tc.every})
			gid := []byte("every")
			if _, err := ta.c.Create(ctx, CreateRequest{Name: string(gid)}); err != nil {
				t.Fatal(err)
			}
			auths := map[uint64]string{}
			for i := 0; i < tc.updates; i++ { // as fast as possible: no waiting
				r, err := ta.c.Update(ctx, gid, UpdateRequest{})
				if err != nil {
					t.Fatal(err)
				}
				info, err := ta.c.Info(ctx, gid)
				if err != nil {
					t.Fatal(err)
				}
				auths[r.Epoch] = info.EpochAuthenticator
			}
			ta.idle()
			if got := ta.uploadedEpochs(gid); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("uploaded epochs = %v, want %v", got, tc.want)
			}
			b := ta.backup()
			ms, err := b.List(ctx, gid)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				var buf strings.Builder
				if err := b.Fetch(ctx, m, &buf); err != nil {
					t.Fatalf("Fetch: %v", err)
				}
				info, err := engine.ImportSnapshot(ctx, engine.NewMemStorage(), []byte(buf.String()), false)
				if err != nil {
					t.Fatalf("snapshot of epoch %d does not import: %v", m.Epoch, err)
				}
				if info.Epoch != m.Epoch || hexOf(m.EpochAuthenticator) != auths[m.Epoch] || hexOf(info.EpochAuthenticator) != auths[m.Epoch] {
					t.Errorf("epoch %d: snapshot epoch %d, manifest auth %x, snapshot auth %x, group auth %s", m.Epoch, info.Epoch, m.EpochAuthenticator, info.EpochAuthenticator, auths[m.Epoch])
				}
			}
			// The local snapshot file was written too, and is kept only
			// while its epoch is the group's current one.
			if err := ta.a.Store().Flush(ctx); err != nil {
				t.Fatal(err)
			}
			e, _, err := ta.a.Store().LatestSnapshot(ctx, gid)
			if n := len(tc.want); n > 0 && tc.want[n-1] == uint64(tc.updates) {
				if err != nil || e != tc.want[n-1] {
					t.Errorf("local latest snapshot = epoch %d, %v; want %d", e, err, tc.want[n-1])
				}
			} else if !errors.Is(err, localstore.ErrNoSnapshot) {
				t.Errorf("local latest snapshot = epoch %d, %v; want none (the group left its epoch)", e, err)
			}
		})
	}
}

// TestRemovalSnapshotsFirst: with before_remove, a removal uploads a
// snapshot of the epoch before the removal commit.
func TestRemovalSnapshotsFirst(t *testing.T) {
	ctx := ctxT(t)
	alice := newTestAgent(t, agentOpts{identity: "alice", beforeRemove: true})
	bob := newTestAgent(t, agentOpts{identity: "bob"})
	gid := []byte("rm")
	if _, err := alice.c.Create(ctx, CreateRequest{Name: "rm"}); err != nil {
		t.Fatal(err)
	}
	kp, err := bob.c.KeyPackage(ctx, KeyPackageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.c.Add(ctx, gid, AddRequest{KeyPackages: [][]byte{kp}}); err != nil {
		t.Fatal(err)
	}
	before, err := alice.c.Info(ctx, gid)
	if err != nil {
		t.Fatal(err)
	}
	if got := alice.uploadedEpochs(gid); len(got) != 0 {
		t.Fatalf("uploads before the removal: %v", got)
	}
	rm, err := alice.c.Remove(ctx, gid, RemoveRequest{Members: []string{"bob"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := alice.uploadedEpochs(gid), []uint64{before.Epoch}; !reflect.DeepEqual(got, want) {
		t.Fatalf("uploaded epochs = %v, want %v (the epoch before the removal, epoch %d)", got, want, rm.Epoch)
	}
	ms, _ := alice.backup().List(ctx, gid)
	if hexOf(ms[0].EpochAuthenticator) != before.EpochAuthenticator {
		t.Errorf("snapshot authenticator %x, want the pre-removal %s", ms[0].EpochAuthenticator, before.EpochAuthenticator)
	}
}

// failingStore fails every Put.
type failingStore struct{ uploader.ObjectStore }

func (failingStore) Put(context.Context, string, io.Reader, int64, bool) error {
	return errors.New("injected: bucket unreachable")
}

// TestRemovalRefusedWhenSnapshotFails: no snapshot, no removal.
func TestRemovalRefusedWhenSnapshotFails(t *testing.T) {
	ctx := ctxT(t)
	st, err := dirstore.New(filepath.Join(shortTempDir(t), "b"))
	if err != nil {
		t.Fatal(err)
	}
	alice := newTestAgent(t, agentOpts{identity: "alice", beforeRemove: true, store: failingStore{st}})
	bob := newTestAgent(t, agentOpts{identity: "bob"})
	gid := []byte("rm")
	if _, err := alice.c.Create(ctx, CreateRequest{Name: "rm"}); err != nil {
		t.Fatal(err)
	}
	kp, _ := bob.c.KeyPackage(ctx, KeyPackageRequest{})
	if _, err := alice.c.Add(ctx, gid, AddRequest{KeyPackages: [][]byte{kp}}); err != nil {
		t.Fatal(err)
	}
	before := alice.dump()
	_, err = alice.c.Remove(ctx, gid, RemoveRequest{Members: []string{"bob"}})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 503 || ae.Code != "snapshot_failed" {
		t.Fatalf("Remove = %v, want 503 snapshot_failed", err)
	}
	info, _ := alice.c.Info(ctx, gid)
	if len(info.Members) != 2 || info.Epoch != 1 {
		t.Errorf("after the refused removal: %d members at epoch %d, want 2 at 1", len(info.Members), info.Epoch)
	}
	after := alice.dump()
	if !reflect.DeepEqual(keysOf(before), keysOf(after)) {
		t.Errorf("stored components changed")
	}
}

// TestSnapshotNowAndMetrics: a snapshot on request, and the metrics it
// leaves.
func TestSnapshotNowAndMetrics(t *testing.T) {
	ctx := ctxT(t)
	ta := newTestAgent(t, agentOpts{})
	gid := []byte("m")
	if _, err := ta.c.Create(ctx, CreateRequest{Name: "m"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ta.c.Update(ctx, gid, UpdateRequest{}); err != nil {
		t.Fatal(err)
	}
	epoch, err := ta.c.Snapshot(ctx, gid)
	if err != nil || epoch != 1 {
		t.Fatalf("Snapshot = %d, %v; want epoch 1", epoch, err)
	}
	if _, err := ta.c.Snapshot(ctx, []byte("nope")); !errors.Is(err, ErrUnknownGroup) {
		t.Errorf("Snapshot(unknown) = %v, want ErrUnknownGroup", err)
	}
	info, _ := ta.c.Info(ctx, gid)
	if info.LastUpload == nil || info.LastUpload.Epoch != 1 {
		t.Errorf("info.last_upload = %+v, want epoch 1", info.LastUpload)
	}
	text, err := ta.c.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"mlsbackup_snapshots_taken_total 1",
		"mlsbackup_snapshots_uploaded_total 1",
		`mlsbackup_snapshots_failed_total{stage="upload"} 0`,
		`mlsbackup_last_upload_epoch{group="6d"} 1`,
		`mlsbackup_last_upload_timestamp_seconds{group="6d"}`,
		"mlsbackup_snapshot_bytes_total",
		"mlsbackup_snapshot_duration_seconds_count 1",
		"mlsbackup_wal_bytes",
		`mlsbackup_recovery_events_total{kind="replayed"}`,
		`mlsbackup_api_requests_total{code="OK"}`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	st, err := ta.c.Status(ctx)
	if err != nil || st.Identity != "alice" || st.Groups != 1 || st.Uploaded != 1 {
		t.Errorf("Status = %+v, %v", st, err)
	}
}

// blockingStore blocks the Put of snapshot data (a separate age file, or
// an inline snapshot) until its context ends.
type blockingStore struct {
	uploader.ObjectStore
	once    sync.Once
	started chan struct{}
}

func (b *blockingStore) Put(ctx context.Context, key string, r io.Reader, size int64, inm bool) error {
	if strings.HasSuffix(key, "snapshot.age") || strings.HasSuffix(key, "snapshot.json") {
		b.once.Do(func() { close(b.started) })
		_, _ = io.ReadAll(r)
		<-ctx.Done()
		return ctx.Err()
	}
	return b.ObjectStore.Put(ctx, key, r, size, inm)
}

// TestShutdownAbandonsUpload: an upload that cannot finish within the drain
// timeout is cancelled; Run returns nil and nothing partial is visible; the
// next agent on the data directory uploads fine.
func TestShutdownAbandonsUpload(t *testing.T) {
	ctx := ctxT(t)
	dir := filepath.Join(shortTempDir(t), "data")
	ds, err := dirstore.New(filepath.Join(shortTempDir(t), "b"))
	if err != nil {
		t.Fatal(err)
	}
	bs := &blockingStore{ObjectStore: ds, started: make(chan struct{})}
	ta := newTestAgent(t, agentOpts{dataDir: dir, store: bs, everyEpochs: 1, drain: 200 * time.Millisecond})
	gid := []byte("s")
	if _, err := ta.c.Create(ctx, CreateRequest{Name: "s"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ta.c.Update(ctx, gid, UpdateRequest{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-bs.started:
	case <-time.After(10 * time.Second):
		t.Fatal("upload did not start")
	}
	start := time.Now()
	ta.stop()
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	ms, err := ta.backup().List(ctx, nil)
	if err != nil || len(ms) != 0 {
		t.Fatalf("after an abandoned upload List = %v, %v; want nothing", ms, err)
	}
	// The next agent on the same directory notices at start that the
	// snapshot of epoch 1 was never uploaded, and uploads it.
	ta2 := newTestAgent(t, agentOpts{dataDir: dir, store: ds, everyEpochs: 1, ageID: ta.id})
	deadline := time.Now().Add(20 * time.Second)
	for len(ta2.uploadedEpochs(gid)) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	ta2.idle()
	if got := ta2.uploadedEpochs(gid); !reflect.DeepEqual(got, []uint64{1}) {
		t.Errorf("uploaded = %v, want [1]", got)
	}
}

// TestImport: a snapshot imported through the API (restore while the agent
// runs) becomes the group, marked restored; replacing needs replace.
func TestImport(t *testing.T) {
	ctx := ctxT(t)
	src := newTestAgent(t, agentOpts{identity: "alice"})
	gid := []byte("imp")
	if _, err := src.c.Create(ctx, CreateRequest{Name: "imp"}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.c.Snapshot(ctx, gid); err != nil {
		t.Fatal(err)
	}
	_, snap, err := src.a.Store().LatestSnapshot(ctx, gid)
	if err != nil {
		t.Fatal(err)
	}
	dst := newTestAgent(t, agentOpts{identity: "alice"})
	if _, ok, err := dst.c.LocalEpoch(ctx, gid); ok || err != nil {
		t.Fatalf("LocalEpoch before import = %v, %v", ok, err)
	}
	info, err := dst.c.Import(ctx, snap, false)
	if err != nil || info.Epoch != 0 || string(info.GroupID) != "imp" {
		t.Fatalf("Import = %+v, %v", info, err)
	}
	if _, err := dst.c.Import(ctx, snap, false); !errors.Is(err, engine.ErrGroupExists) {
		t.Errorf("second Import = %v, want ErrGroupExists", err)
	}
	if _, err := dst.c.Import(ctx, snap, true); err != nil {
		t.Errorf("Import with replace: %v", err)
	}
	gi, err := dst.c.Info(ctx, gid)
	if err != nil || !gi.Restored {
		t.Fatalf("Info = %+v, %v; want restored", gi, err)
	}
	if _, err := dst.c.Send(ctx, gid, SendRequest{Text: "x"}); !errors.Is(err, engine.ErrRestoredEpoch) {
		t.Errorf("Send in the restored epoch = %v, want ErrRestoredEpoch", err)
	}
	if r, err := dst.c.Update(ctx, gid, UpdateRequest{}); err != nil || r.Epoch != 1 {
		t.Fatalf("Update = %+v, %v", r, err)
	}
	if _, err := dst.c.Send(ctx, gid, SendRequest{Text: "x"}); err != nil {
		t.Errorf("Send in a fresh epoch: %v", err)
	}
}

// TestLockedDataDir: a second agent on the same data directory is refused.
func TestLockedDataDir(t *testing.T) {
	dir := filepath.Join(shortTempDir(t), "data")
	ta := newTestAgent(t, agentOpts{dataDir: dir})
	_, err := Open(context.Background(), ta.cfg, nil, Options{Store: ta.store})
	if !errors.Is(err, localstore.ErrLocked) {
		t.Fatalf("second Open = %v, want localstore.ErrLocked", err)
	}
}

func hexOf(b []byte) string { return strings.ToLower(strings.TrimSpace(hexEncode(b))) }

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return sortStrings(out)
}
