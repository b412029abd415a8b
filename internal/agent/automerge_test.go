package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"filippo.io/age"

	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/uploader/dirstore"
)

// memAgent opens an agent whose data directory lives on fsys (not run:
// its methods are called directly).
func memAgent(t *testing.T, fsys fsx.FS, bucket string, syncApply bool) (*Agent, error) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir, cfg.ClientName = "/data", "alice"
	cfg.Encryption.Recipients = []string{testRecipient(t)}
	testSigningKey(t, cfg)
	cfg.Snapshot.EveryEpochs, cfg.Snapshot.Jitter = 0, 0
	st, err := dirstore.New(bucket)
	if err != nil {
		t.Fatal(err)
	}
	return Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{FS: fsys, Store: st, SyncApply: syncApply})
}

// TestCreateAndMergeNeverLeavesPendingCommit is issue 12's "the
// committer is an epoch ahead with a commit nobody has" and "recovery
// that a second kill can break": a create-and-merge request is crashed at
// every file-system operation (power loss and process kill). After
// recovery the group is either exactly before the request (no pending
// commit, no outbox entry) or in the new epoch with the commit in the
// outbox; an answered request is always the latter, with the very commit
// answered. Recovery itself has nothing to clean up, so it has no step a
// second kill could interrupt.
func TestCreateAndMergeNeverLeavesPendingCommit(t *testing.T) {
	ctx := context.Background()
	gid := []byte("create-and-merge")
	for _, syncApply := range []bool{true, false} {
		base := fsx.NewMem()
		bucket := filepath.Join(t.TempDir(), "bucket")
		a, err := memAgent(t, base, bucket, syncApply)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Create(ctx, "", gid, 0); err != nil {
			t.Fatal(err)
		}
		before, err := a.Info(ctx, gid)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}

		var resp CommitResponse
		points := crashPoints(t, base, bucket, syncApply, func(a *Agent) (any, error) {
			r, err := a.Update(ctx, "", gid, false)
			resp = r
			return r, err
		})
		n := 0
		for _, p := range points {
			for _, mode := range []fsx.CrashMode{fsx.PowerLoss, fsx.ProcessKill} {
				m := p.fs.Clone()
				m.Crash(mode)
				checkAfterCrash(t, m, bucket, gid, before.Epoch, resp, p.answer != nil)
				n++
			}
		}
		t.Logf("sync_apply=%v: %d crash points of a create-and-merge, %d recoveries checked", syncApply, len(points), n)
	}
}

// checkAfterCrash recovers the data directory on m and checks the group is
// before the commit (then the commit was not answered) or after it with
// the commit in the outbox; and that the group takes its next commit.
func checkAfterCrash(t *testing.T, m *fsx.Mem, bucket string, gid []byte, epoch uint64, resp CommitResponse, answered bool) {
	t.Helper()
	ctx := context.Background()
	a, err := memAgent(t, m, bucket, true)
	if err != nil {
		t.Fatalf("recover: %v", err)
	}
	defer a.Close()
	info, err := a.Info(ctx, gid)
	if err != nil {
		t.Fatal(err)
	}
	if info.PendingCommit {
		t.Fatalf("a pending commit survived the crash (epoch %d)", info.Epoch)
	}
	list, err := a.Outbox(ctx, "", MaxOutboxLimit)
	if err != nil {
		t.Fatal(err)
	}
	var commits []CommitResponse
	for _, e := range list.Entries {
		if e.Op == "commit" {
			var c CommitResponse
			if err := json.Unmarshal(e.Response, &c); err != nil {
				t.Fatal(err)
			}
			commits = append(commits, c)
		}
	}
	switch info.Epoch {
	case epoch:
		if answered || len(commits) != 0 {
			t.Fatalf("group before the commit, but answered %v, %d commits in the outbox", answered, len(commits))
		}
	case epoch + 1:
		if len(commits) != 1 || !commits[0].Merged || commits[0].Epoch != epoch+1 {
			t.Fatalf("group merged the commit, outbox holds %+v", commits)
		}
		if answered && !bytes.Equal(commits[0].Commit, resp.Commit) {
			t.Fatal("the outbox holds another commit than the one answered")
		}
	default:
		t.Fatalf("group at epoch %d after a commit from %d", info.Epoch, epoch)
	}
	if r, err := a.Update(ctx, "", gid, false); err != nil || r.Epoch != info.Epoch+1 {
		t.Fatalf("next commit after recovery: epoch %d, %v; want %d", r.Epoch, err, info.Epoch+1)
	}
}

// crashPoint is the data directory as a crash at one file-system
// operation leaves it, and the answer the request had given by then (nil
// if none).
type crashPoint struct {
	fs     *fsx.Mem
	answer any
}

// crashPoints opens an agent on a copy of base, runs one request and
// closes the agent, copying the file system before every operation after
// the agent opened: each copy is a crash at that operation. The last point
// is after everything.
func crashPoints(t *testing.T, base *fsx.Mem, bucket string, syncApply bool, request func(a *Agent) (any, error)) []crashPoint {
	t.Helper()
	var (
		mu       sync.Mutex
		points   []crashPoint
		answered atomic.Pointer[any]
		opened   atomic.Bool
	)
	run := base.Clone()
	f := fsx.NewFaulty(run, fsx.FaultyOptions{Before: func(int64, fsx.Op, string, []byte) {
		if !opened.Load() {
			return
		}
		p := crashPoint{fs: run.Clone()}
		if a := answered.Load(); a != nil {
			p.answer = *a
		}
		mu.Lock()
		points = append(points, p)
		mu.Unlock()
	}})
	a, err := memAgent(t, f, bucket, syncApply)
	if err != nil {
		t.Fatal(err)
	}
	opened.Store(true)
	resp, err := request(a)
	if err != nil {
		t.Fatal(err)
	}
	answered.Store(&resp)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return append(points, crashPoint{fs: run.Clone(), answer: resp})
}

// testRecipient returns the recipient of a fresh age identity.
func testRecipient(t *testing.T) string {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id.Recipient().String()
}
