package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/restore"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// TestAgentWritesHeadsAndContinuesChainAfterLostDisk: a pass ends with a
// signed head naming every group; an upload after it is named by the head
// the agent writes when it stops. After the data directory is lost, a new
// agent with the same signing key (kept outside the data directory) reads
// the destination's chain at start, and its uploads continue it: verify
// finds every chain and the head intact.
func TestAgentWritesHeadsAndContinuesChainAfterLostDisk(t *testing.T) {
	ctx := ctxT(t)
	keyFile := newTestSigningKeyFile(t)
	ta := newTestAgent(t, agentOpts{everyEpochs: 0, keyFile: keyFile})
	ids := make([][]byte, 3)
	for i := range ids {
		ids[i] = []byte(fmt.Sprintf("heads-%d", i))
		if _, err := ta.a.Create(ctx, "", ids[i], 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ta.a.SnapshotPass(ctx); err != nil {
		t.Fatal(err)
	}
	h, err := ta.backup().ReadHead(ctx)
	if err != nil || h == nil || len(h.Groups) != 3 {
		t.Fatalf("head after the pass: %+v, %v; want one naming 3 groups", h, err)
	}
	if _, err := ta.a.Update(ctx, "", ids[0], false); err != nil {
		t.Fatal(err)
	}
	if _, err := ta.c.Snapshot(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	ta.stop()
	h2, err := ta.backup().ReadHead(ctx)
	if err != nil || h2 == nil || h2.Sequence <= h.Sequence || h2.Groups["68656164732d30"].Epoch != 1 {
		t.Fatalf("head after stop: %+v, %v; want a newer one naming heads-0 at epoch 1", h2, err)
	}

	if err := os.RemoveAll(ta.cfg.DataDir); err != nil {
		t.Fatal(err)
	}
	again := newTestAgent(t, agentOpts{everyEpochs: 0, keyFile: keyFile, ageID: ta.id, store: ta.store,
		dataDir: filepath.Join(shortTempDir(t), "data")})
	if _, err := restore.Run(ctx, again.backup(), again.c, restore.Request{All: true}, restore.Options{}); err != nil {
		t.Fatalf("restore after the lost disk: %v", err)
	}
	if _, err := again.a.Update(ctx, "", ids[1], false); err != nil {
		t.Fatal(err)
	}
	if _, err := again.c.Snapshot(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	again.stop()
	rep, err := restore.Verify(ctx, again.backup(), restore.VerifyRequest{All: true})
	if err != nil || rep.Failed() != 0 || len(rep.Objects) != 5 {
		for _, o := range rep.Objects {
			t.Logf("%s: %v", o.Key, o.Err)
		}
		t.Fatalf("verify --all after the new agent's upload: %d of %d failed, %v", rep.Failed(), len(rep.Objects), err)
	}
	ms, err := again.backup().List(ctx, ids[1])
	if err != nil || len(ms) != 2 || ms[1].Prev == nil || *ms[1].Prev != (uploader.Link{Sequence: ms[0].Sequence, SHA256: ms[0].PayloadSHA256}) ||
		ms[1].Head != h2.Sequence || ms[1].Sequence <= h2.Sequence {
		t.Fatalf("heads-1 after the new agent's upload: %+v, %v; want it linked to the first agent's, after head %d", ms, err, h2.Sequence)
	}
}
