package e2e

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/agent"
	"github.com/mlsbackup/mlsbackup/internal/testenv"
)

// TestRestoreAllThroughAgent: an agent's groups are snapshotted to MinIO, its
// disk is lost, a fresh agent starts on the empty data directory, and
// restore --all (talking to that agent, which holds the lock) brings every
// group back at its epoch, marked restored; a second restore changes nothing.
func TestRestoreAllThroughAgent(t *testing.T) {
	srv := testenv.MinIO(t)
	n := newNode(t, srv, "solo", 100)
	p := n.startAgent()
	want := map[string]uint64{}
	for i, name := range []string{"g-one", "g-two", "g-three"} {
		gid := hex.EncodeToString([]byte(name))
		n.group(nil, "create", gid)
		var c agent.CommitResponse
		for range i + 1 {
			n.group(&c, "update", gid)
		}
		want[gid] = c.Epoch
	}
	n.mustRun("snapshot", "--all")
	if err := p.stop(); err != nil {
		t.Fatalf("agent on SIGTERM: %v", err)
	}
	n.wipe()
	p = n.startAgent()
	out := n.mustRun("restore", "--all")
	if !strings.Contains(out, "through the running agent") || !strings.Contains(out, "3 restored, 0 would be restored, 0 up to date, 0 failed") {
		t.Fatalf("restore --all:\n%s", out)
	}
	out = n.mustRun("restore", "--all")
	if !strings.Contains(out, "0 restored, 0 would be restored, 3 up to date, 0 failed") {
		t.Fatalf("second restore --all:\n%s", out)
	}
	for gid, epoch := range want {
		var info agent.GroupInfo
		n.group(&info, "info", gid)
		if info.Epoch != epoch || !info.Restored {
			t.Errorf("%s: epoch %d restored %v, want %d true", gid, info.Epoch, info.Restored, epoch)
		}
	}
	if err := p.stop(); err != nil {
		t.Fatalf("agent on SIGTERM: %v", err)
	}
}
