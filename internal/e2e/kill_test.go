package e2e

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"path"
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
// decrypts and checks each), no commit a kill left unmerged is still
// pending after the restart (the agent clears it), and the next scheduled
// snapshot succeeds.
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

	var acked uint64 // highest epoch a commit was acknowledged at
	for round := range rounds {
		p := n.startAgent()
		var info agent.GroupInfo
		n.group(&info, "info", gid)
		if info.Epoch < acked || info.Epoch > acked+1 {
			t.Fatalf("round %d: epoch after restart %d, acknowledged %d: an acknowledged commit was lost or an unknown one appeared", round, info.Epoch, acked)
		}
		acked = info.Epoch
		if info.PendingCommit {
			t.Fatalf("round %d: a commit is pending after restart: the agent must clear one that a kill left unmerged", round)
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
	if info.PendingCommit {
		t.Fatalf("a commit is pending after the last restart")
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
	orphans, manifests := countObjects(t, srv, n.name+"/groups/")
	t.Logf("%d kills; %d epochs acknowledged; %d complete snapshots listed; "+
		"%d uploads cut short by a kill (data object without manifest, invisible to list)",
		rounds, acked, len(n.snapshots()), orphans)
	if listed := len(n.snapshots()); listed != manifests {
		t.Fatalf("list shows %d snapshots, the bucket holds %d manifests", listed, manifests)
	}
}

// countObjects counts the manifests under prefix (manifest.json, and
// snapshot.json: a manifest with the snapshot inline) and the data objects
// (snapshot.age) without a manifest beside them: uploads cut short.
func countObjects(t *testing.T, srv *testenv.Server, prefix string) (orphans, manifests int) {
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
	data, withManifest := map[string]bool{}, map[string]bool{}
	for _, o := range objs {
		dir, file := path.Split(o.Key)
		switch file {
		case "snapshot.age":
			data[dir] = true
		case "manifest.json", "snapshot.json":
			manifests++
			withManifest[dir] = true
		}
	}
	for dir := range data {
		if !withManifest[dir] {
			orphans++
		}
	}
	return orphans, manifests
}
