package e2e

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/agent"
	"github.com/mlsbackup/mlsbackup/internal/testenv"
	"github.com/mlsbackup/mlsbackup/uploader/s3store"
)

// TestSIGKILL kills a running agent 50 times while a client commits and sends
// through it and while it uploads a snapshot after every epoch: no
// acknowledged commit is lost, every listed snapshot is complete (verify
// decrypts and checks each), and the next scheduled snapshot succeeds.
func TestSIGKILL(t *testing.T) {
	rounds := 50
	if testing.Short() {
		rounds = 5
	}
	srv := testenv.MinIO(t)
	n := newNode(t, srv, "victim", 1)
	gid := hex.EncodeToString([]byte("kill-team"))
	p := n.startAgent()
	n.group(nil, "create", gid)
	p.kill()

	var (
		acked   uint64 // highest epoch a commit was acknowledged at
		cleared int    // commits a kill left pending
	)
	for round := range rounds {
		p := n.startAgent()
		var info agent.GroupInfo
		n.group(&info, "info", gid)
		if info.Epoch < acked || info.Epoch > acked+1 {
			t.Fatalf("round %d: epoch after restart %d, acknowledged %d: an acknowledged commit was lost or an unknown one appeared", round, info.Epoch, acked)
		}
		acked = info.Epoch
		if n.clearPending(gid, info) {
			cleared++
		}
		var (
			wg   sync.WaitGroup
			last = acked
		)
		wg.Add(1)
		go func() { // the load: commits and messages until the agent dies
			defer wg.Done()
			for i := 0; ; i++ {
				args := []string{"group", "update", gid, "--json"}
				if i%3 == 2 {
					args = []string{"group", "send", gid, "--data", "load", "--json"}
				}
				out, _, err := n.run(args...)
				if err != nil {
					return
				}
				var c agent.CommitResponse
				if args[1] == "update" && json.Unmarshal([]byte(out), &c) == nil && c.Merged {
					last = c.Epoch
				}
			}
		}()
		time.Sleep(time.Duration(50+rand.IntN(300)) * time.Millisecond)
		p.kill()
		wg.Wait()
		if last > acked {
			acked = last
		}
	}

	p = n.startAgent()
	var info agent.GroupInfo
	n.group(&info, "info", gid)
	if info.Epoch < acked || info.Epoch > acked+1 {
		t.Fatalf("final epoch %d, acknowledged %d", info.Epoch, acked)
	}
	if n.clearPending(gid, info) {
		cleared++
	}
	if out, errOut, err := n.run("verify", "--all"); err != nil {
		t.Fatalf("verify --all after the kills: %v\n%s\n%s", err, out, errOut)
	}
	var c agent.CommitResponse
	n.group(&c, "update", gid)
	waitSnapshot(t, n, gid, c.Epoch)
	if err := p.stop(); err != nil {
		t.Fatalf("agent on SIGTERM: %v", err)
	}
	// The agent is stopped: what list shows is exactly the manifests.
	data, manifests := countObjects(t, srv, n.name+"/groups/")
	t.Logf("%d kills; %d epochs acknowledged; %d commits left pending by a kill and cleared; %d complete snapshots listed; "+
		"%d uploads cut short by a kill (data object without manifest, invisible to list)",
		rounds, acked, cleared, len(n.snapshots()), data-manifests)
	if listed := len(n.snapshots()); listed != manifests {
		t.Fatalf("list shows %d snapshots, the bucket holds %d manifests", listed, manifests)
	}
}

// clearPending drops a commit left pending by a kill between its creation
// and its merge: it was never acknowledged, so never delivered, and the
// client discards it (mlsbackup group merge --clear).
func (n *node) clearPending(gid string, info agent.GroupInfo) bool {
	n.t.Helper()
	if !info.PendingCommit {
		return false
	}
	n.mustRun("group", "merge", gid, "--clear", "--json")
	return true
}

// countObjects counts the data objects and manifests under prefix.
func countObjects(t *testing.T, srv *testenv.Server, prefix string) (data, manifests int) {
	t.Helper()
	st, err := s3store.New(context.Background(), s3store.Config{Bucket: srv.Bucket, Endpoint: srv.Endpoint, Region: srv.Region,
		PathStyle: true, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := st.List(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		switch {
		case strings.HasSuffix(o.Key, "/snapshot.age"):
			data++
		case strings.HasSuffix(o.Key, "/manifest.json"), strings.HasSuffix(o.Key, "/snapshot.json"):
			manifests++ // snapshot.json is a manifest with the snapshot inline
		}
	}
	return data, manifests
}
