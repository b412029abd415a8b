package killcampaign

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/agent"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/localstore"
)

// snapshotThenSend uploads a snapshot of the group and then has alice
// send a message: a generation of the snapshot's epoch that the snapshot
// does not know, which a restored alice must never use again. It returns
// the snapshot's epoch.
func (c *campaign) snapshotThenSend() uint64 {
	c.t.Helper()
	epoch, err := c.a.cl.Snapshot(c.ctx, c.w.gid)
	if err != nil {
		c.fatalf("snapshot: %v", err)
	}
	c.unaimed(c.w.sendCall(c.next()))
	return epoch
}

// restoreCampaign loses alice's data directory and restores her from the
// snapshot of epoch, with the restore command killed at its first step,
// then (on a lost directory again) at its second, and so on until one
// completes; after each kill a second restore must complete, and must
// find the group already there if the killed one had reported it
// restored. Then alice's agent starts on the restored state: the group is
// at the snapshot's epoch, marked restored, with no pending commit, and
// refuses to send (a message now could repeat a key and nonce of the lost
// state; if one is produced, the nonce log sees it).
func (c *campaign) restoreCampaign(epoch uint64) {
	c.t.Helper()
	c.a.stop()
	t := c.tally(kindRestore)
	for at := int64(1); ; at = c.nextAim(at) {
		if err := os.RemoveAll(c.a.data); err != nil {
			c.fatalf("lose the data directory: %v", err)
		}
		status, step := c.restoreRun(epoch, at)
		where := fmt.Sprintf("restore (aim %d)", at)
		if step == "" {
			if status != "restored" {
				c.fatalf("%s: status %q, want restored", where, status)
			}
			t.survived++
			c.checkRestored(where, epoch)
			break
		}
		where += " killed at " + step
		c.ok(t.kill(step, at))
		if status != "" {
			t.acked++
		}
		again, step2 := c.restoreRun(epoch, 0)
		switch {
		case step2 != "":
			c.fatalf("%s: unaimed restore killed at %s", where, step2)
		case status == "restored" && again != "up-to-date":
			c.fatalf("%s: acknowledged restore lost: the killed restore reported the group restored, the next one says %q", where, again)
		case again != "restored" && again != "up-to-date":
			c.fatalf("%s: the restore after the kill says %q", where, again)
		case again == "up-to-date":
			t.stored++
		default:
			t.fresh++
		}
		c.checkRestored(where, epoch)
	}
	if step := c.a.start(0); step != "" {
		c.fatalf("start after restore killed at %s", step)
	}
	info, err := c.a.cl.Info(c.ctx, c.w.gid)
	if err != nil {
		c.fatalf("info after restore: %v", err)
	}
	if info.Epoch != epoch || !info.Restored || info.PendingCommit {
		c.fatalf("after restore: epoch %d restored %v pending %v, want epoch %d restored", info.Epoch, info.Restored, info.PendingCommit, epoch)
	}
	r, err := c.a.cl.Send(c.ctx, c.w.gid, agent.SendRequest{Data: []byte("restored alice says")})
	if err == nil {
		oerr := c.w.observe(r.Message)
		c.fatalf("a restored member sent at epoch %d before merging a commit of its own (nonce log: %v)", r.Epoch, oerr)
	}
	if !errors.Is(err, engine.ErrRestoredEpoch) {
		c.fatalf("send of a restored member: %v, want restored_epoch", err)
	}
}

// restoreRun runs `restore --group --epoch --json` into alice's data
// directory, killed at its at-th step if at > 0. It returns the group's
// status ("" if the restore was killed before it printed one) and the
// step it was killed at ("" if it completed).
func (c *campaign) restoreRun(epoch uint64, at int64) (status, step string) {
	c.t.Helper()
	var env []string
	if at > 0 {
		env = []string{fmt.Sprintf("MLSBACKUP_KILL_AT=%d", at)}
	}
	p, err := startProc(env, "--config", c.a.config, "restore", "--group", hex.EncodeToString(c.w.gid),
		"--epoch", fmt.Sprint(epoch), "--json")
	if err != nil {
		c.fatalf("%v", err)
	}
	if err := p.wait(time.Minute); err != nil {
		c.fatalf("restore: %v", err)
	}
	step, sigkill, code := p.outcome()
	if step == "" && (sigkill || code != 0) {
		c.fatalf("restore (aim %d) exited with code %d (sigkill %v)\nstdout:\n%s\nstderr:\n%s", at, code, sigkill, p.stdout.String(), p.stderr())
	}
	var views []struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(p.stdout.Bytes(), &views); err == nil && len(views) == 1 {
		status = views[0].Status
	} else if step == "" {
		c.fatalf("restore printed %q: %v", p.stdout.String(), err)
	}
	return status, step
}

// checkRestored opens alice's data directory read-only (recovering what
// a kill left, in memory) and checks the group is at epoch and marked
// restored.
func (c *campaign) checkRestored(where string, epoch uint64) {
	c.t.Helper()
	ro, err := localstore.OpenReadOnly(c.ctx, fsx.OS{}, c.a.data, localstore.Options{})
	if err != nil {
		c.fatalf("%s: open the data directory: %v", where, err)
	}
	defer ro.Close()
	g, err := engine.LoadGroup(c.ctx, ro, c.w.gid, engine.Options{})
	if err != nil {
		c.fatalf("%s: load the restored group: %v", where, err)
	}
	if g.Epoch() != epoch || !g.Restored() || g.HasPendingCommit() {
		c.fatalf("%s: group at epoch %d restored %v pending %v, want epoch %d restored", where, g.Epoch(), g.Restored(), g.HasPendingCommit(), epoch)
	}
}
