package agent

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/localstore"
)

// metricValue reads one sample of the agent's metrics.
func metricValue(t *testing.T, c *Client, name string) float64 {
	t.Helper()
	m, err := c.Metrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	match := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(m)
	if match == nil {
		t.Fatalf("metrics lack %s", name)
	}
	v, err := strconv.ParseFloat(match[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// healthz returns the status and decoded body of GET /healthz.
func (ta *testAgent) healthz() (int, HealthResponse) {
	ta.t.Helper()
	status, body := ta.raw(http.MethodGet, "/healthz", "", nil)
	var h HealthResponse
	if err := json.Unmarshal(body, &h); err != nil {
		ta.t.Fatalf("healthz body %q: %v", body, err)
	}
	return status, h
}

// TestFullDiskHealthzReportsWriteFailure: on a real small file system (a
// tmpfs; the fault-injecting one where mounting is not permitted) that
// fills up, requests fail with 503 store_unavailable, GET /healthz answers
// 503 with the reason (no path in it) and the metrics count the failures;
// once space is freed the agent recovers by itself, without a restart or
// a request, and every acknowledged transition survives a restart.
func TestFullDiskHealthzReportsWriteFailure(t *testing.T) {
	ctx := ctxT(t)
	disk, err := fsx.NewSmallDisk(shortTempDir(t), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = disk.Close() })
	t.Logf("tmpfs: %v", disk.Tmpfs)
	dataDir := disk.Dir + "/data"
	ta := newTestAgent(t, agentOpts{dataDir: dataDir, fs: disk.FS()})
	if status, h := ta.healthz(); status != http.StatusOK || h.Status != "ok" {
		t.Fatalf("healthz before = %d %+v, want 200 ok", status, h)
	}
	var acked []string
	create := func(i int) error {
		info, err := ta.c.Create(ctx, CreateRequest{Name: fmt.Sprintf("full-disk-group-%03d", i)})
		if err == nil {
			acked = append(acked, info.GroupID)
		}
		return err
	}
	if err := create(0); err != nil {
		t.Fatal(err)
	}

	if err := disk.Fill(); err != nil {
		t.Fatal(err)
	}
	var failure error
	for i := 1; i < 100 && failure == nil; i++ {
		failure = create(i)
	}
	var ae *APIError
	if !errors.As(failure, &ae) || ae.Status != http.StatusServiceUnavailable || ae.Code != "store_unavailable" {
		t.Fatalf("create on a full disk: %v, want 503 store_unavailable", failure)
	}
	status, h := ta.healthz()
	if status != http.StatusServiceUnavailable || h.Status != "unavailable" || !strings.Contains(h.Reason, "no space left on device") {
		t.Fatalf("healthz on a full disk = %d %+v, want 503 unavailable, no space left on device", status, h)
	}
	if strings.Contains(h.Reason, "/") {
		t.Errorf("healthz reason names a path: %q", h.Reason)
	}
	if v := metricValue(t, ta.c, "mlsbackup_store_healthy"); v != 0 {
		t.Errorf("mlsbackup_store_healthy = %v on a full disk, want 0", v)
	}
	if v := metricValue(t, ta.c, "mlsbackup_store_write_failures_total"); v < 1 {
		t.Errorf("mlsbackup_store_write_failures_total = %v on a full disk, want at least 1", v)
	}
	// The client still finds the agent, and says why it is unavailable.
	c, err := Dial(ta.a.SocketPath())
	if err != nil {
		t.Fatalf("dial an agent whose disk is full: %v", err)
	}
	if err := c.Health(ctx); !errors.Is(err, localstore.ErrWriteFailed) || !strings.Contains(err.Error(), "no space left") {
		t.Errorf("client health on a full disk: %v, want ErrWriteFailed with the reason", err)
	}
	c.Close()

	if err := disk.Free(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if status, _ := ta.healthz(); status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz still unavailable after space returned: %+v", ta.a.Store().Health())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v := metricValue(t, ta.c, "mlsbackup_store_healthy"); v != 1 {
		t.Errorf("mlsbackup_store_healthy = %v after recovery, want 1", v)
	}
	if err := create(100); err != nil {
		t.Fatalf("create after recovery: %v", err)
	}

	ta.stop()
	ta2 := newTestAgent(t, agentOpts{dataDir: dataDir, fs: disk.FS(), store: ta.store, ageID: ta.id})
	list, err := ta2.c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range list.Groups {
		got = append(got, g.GroupID)
	}
	if strings.Join(sortStrings(got), ",") != strings.Join(sortStrings(acked), ",") {
		t.Fatalf("groups after restart %v, want the acknowledged ones %v", got, acked)
	}
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestFullDiskShutdownAfterWriteFailure: the agent stops cleanly (Run
// returns nil, so the process exits 0) when its final checkpoint fails
// for lack of space, because nothing acknowledged is lost: it logs a
// warning, and the next start replays the log.
func TestFullDiskShutdownAfterWriteFailure(t *testing.T) {
	ctx := ctxT(t)
	dataDir := shortTempDir(t) + "/data"
	// The component files cannot be written; the log still can.
	full := &fsx.Full{Under: dataDir + "/mls/"}
	fsys := fsx.NewFaulty(fsx.OS{}, fsx.FaultyOptions{Inject: full.Inject})
	ta := newTestAgent(t, agentOpts{dataDir: dataDir, fs: fsys})
	ta.stop()

	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	a, err := Open(ctx, ta.cfg, log, Options{Store: ta.store, FS: fsys})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	var c *Client
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if c, err = Dial(a.SocketPath()); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		stop()
		t.Fatal(err)
	}
	full.Set(true)
	info, err := c.Create(ctx, CreateRequest{Name: "created-while-full"})
	if err != nil {
		t.Fatalf("create while only the component files cannot be written: %v", err)
	}
	c.Close()
	stop() // what SIGTERM does
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after a failed final checkpoint: %v, want nil (exit 0); log:\n%s", err, logs.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return")
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "the next start replays the write-ahead log") {
		t.Errorf("log lacks the warning about the final checkpoint:\n%s", logs.String())
	}

	full.Set(false)
	ta2 := newTestAgent(t, agentOpts{dataDir: dataDir, fs: fsys, store: ta.store, ageID: ta.id})
	id, err := hex.DecodeString(info.GroupID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ta2.c.Info(ctx, id); err != nil {
		t.Fatalf("the group acknowledged before the shutdown is gone: %v", err)
	}
	if ta2.a.Recovery().Replayed == nil {
		t.Errorf("the next start replayed nothing; want the batches the checkpoint did not apply")
	}
}

// TestFullDiskFailedUpdateLeavesNoPendingCommit: a create-and-merge
// commit (group update) whose transition cannot be written fails with 503
// and leaves the group exactly as it was — no pending commit that no
// caller ever received — so that, once space returns, the next update
// works. The disk fills after the first log write following the request
// (allow 0) or after one more (allow 1), which caught the time the commit
// and its merge were two batches.
func TestFullDiskFailedUpdateLeavesNoPendingCommit(t *testing.T) {
	for _, allow := range []int64{0, 1} {
		t.Run(fmt.Sprint("allow=", allow), func(t *testing.T) {
			ctx := ctxT(t)
			dataDir := shortTempDir(t) + "/data"
			full := &fsx.Full{Under: dataDir + "/"}
			var armed sync.Mutex
			left := int64(-1) // log writes still allowed; -1: not armed
			inject := func(op fsx.Op, path string, data []byte) (int, error) {
				armed.Lock()
				if left >= 0 && op == fsx.OpWrite && data != nil && strings.Contains(path, "/wal/") {
					if left == 0 {
						full.Set(true)
					}
					left--
				}
				armed.Unlock()
				return full.Inject(op, path, data)
			}
			ta := newTestAgent(t, agentOpts{dataDir: dataDir, fs: fsx.NewFaulty(fsx.OS{}, fsx.FaultyOptions{Inject: inject})})
			info, err := ta.c.Create(ctx, CreateRequest{Name: "update-on-full-disk"})
			if err != nil {
				t.Fatal(err)
			}
			id, err := hex.DecodeString(info.GroupID)
			if err != nil {
				t.Fatal(err)
			}
			armed.Lock()
			left = allow
			armed.Unlock()
			res, err := ta.c.Update(ctx, id, UpdateRequest{})
			var ae *APIError
			if err != nil && (!errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable) {
				t.Fatalf("update on a full disk: %v, want success or 503", err)
			}
			want := info.Epoch
			if err == nil {
				want = res.Epoch
			}
			t.Logf("update with %d log writes allowed: %v", allow, err)
			after, ierr := ta.c.Info(ctx, id)
			if ierr != nil {
				t.Fatal(ierr)
			}
			if after.PendingCommit || after.Epoch != want {
				t.Fatalf("after an update that answered %v: epoch %d, pending commit %v; want epoch %d and no pending commit", err, after.Epoch, after.PendingCommit, want)
			}

			armed.Lock()
			left = -1
			armed.Unlock()
			full.Set(false)
			res, err = ta.c.Update(ctx, id, UpdateRequest{})
			if err != nil {
				t.Fatalf("update once space returned: %v", err)
			}
			if res.Epoch != want+1 || !res.Merged {
				t.Fatalf("update once space returned: epoch %d merged %v, want epoch %d merged", res.Epoch, res.Merged, want+1)
			}
		})
	}
}
