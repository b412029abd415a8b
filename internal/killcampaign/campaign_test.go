package killcampaign

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/agent"
)

// campaign runs calls against alice, kills her at aimed steps and checks
// the invariants after every restart.
type campaign struct {
	t      *testing.T
	ctx    context.Context
	a      *alice
	w      *world
	stats  map[string]*tally
	seq    int   // numbers the calls: unique idempotency keys and texts
	stuck  int   // pending-commit checks made
	stride int64 // after the first steps, aim at every stride-th (1: every step; more with -short)
}

func (c *campaign) tally(kind string) *tally {
	t, ok := c.stats[kind]
	if !ok {
		t = &tally{}
		c.stats[kind] = t
	}
	return t
}

// fatalf fails the campaign with where it stood.
func (c *campaign) fatalf(format string, args ...any) {
	c.t.Helper()
	stderr := ""
	if c.a.p != nil {
		stderr = c.a.p.stderr()
	}
	c.t.Fatalf("%s\nagent stderr (last lines):\n%s", fmt.Sprintf(format, args...), stderr)
}

// nextAim returns the step to aim at after aim: the next one, or with
// -short the next stride-th after the first four (the steps before the
// answer lie among them).
func (c *campaign) nextAim(aim int64) int64 {
	if aim < 4 {
		return aim + 1
	}
	return aim + c.stride
}

// ok fails the campaign on an error of the set-up around a call.
func (c *campaign) ok(err error) {
	c.t.Helper()
	if err != nil {
		c.fatalf("%v", err)
	}
}

// setup creates the group with bob and carol.
func (c *campaign) setup() {
	c.t.Helper()
	if step := c.a.start(0); step != "" {
		c.fatalf("first start killed at %s", step)
	}
	if _, err := c.a.cl.Create(c.ctx, agent.CreateRequest{GroupID: hex.EncodeToString(c.w.gid)}); err != nil {
		c.fatalf("create: %v", err)
	}
	kpb, err1 := c.w.bob.keyPackage(c.ctx)
	kpc, err2 := c.w.carol.keyPackage(c.ctx)
	c.ok(errors.Join(err1, err2))
	resp, err := c.a.cl.Add(c.ctx, c.w.gid, agent.AddRequest{KeyPackages: [][]byte{kpb, kpc}})
	if err != nil {
		c.fatalf("add bob and carol: %v", err)
	}
	for _, p := range []*peer{c.w.bob, c.w.carol} {
		p.g, err = p.c.JoinFromWelcome(c.ctx, resp.Welcome, nil)
		c.ok(err)
	}
	c.ok(c.w.entered(c.ctx))
	c.ok(c.a.ackAll(c.ctx))
	c.checkGroup("setup")
}

// next numbers a call.
func (c *campaign) next() int {
	c.seq++
	return c.seq
}

// cycle runs every kind once; then says how the harness ends each call.
func (c *campaign) cycle(then after) {
	c.t.Helper()
	snapEpoch := c.snapshotThenSend()
	c.kind(then, func() *call { return c.w.sendCall(c.next()) })
	c.kind(then, func() *call {
		cl, err := c.w.receiveAppCall(c.ctx, c.next())
		c.ok(err)
		return cl
	})
	c.kind(then, func() *call {
		cl, err := c.w.receiveCommitCall(c.ctx)
		c.ok(err)
		return cl
	})
	c.kind(then, func() *call { return c.w.updateCall(c.next()) })
	c.kind(then, func() *call {
		if c.w.dave.g != nil {
			c.unaimed(c.w.removeCall(c.next()))
		}
		cl, err := c.w.addCall(c.ctx, c.next())
		c.ok(err)
		return cl
	})
	c.kind(then, func() *call {
		if c.w.dave.g == nil {
			cl, err := c.w.addCall(c.ctx, c.next())
			c.ok(err)
			c.unaimed(cl)
		}
		return c.w.removeCall(c.next())
	})
	c.restoreCampaign(snapEpoch)
	c.kind(then, func() *call {
		info, err := c.a.cl.Info(c.ctx, c.w.gid)
		c.ok(err)
		cl, err := c.w.externalJoinCall(c.ctx, c.next(), info.OwnIndex)
		c.ok(err)
		return cl
	})
}

// TestKillCampaign is the kill campaign of issue 12 ("what must show"):
// kill -9 of the real agent at every step of send, receive (message and
// commit), create-and-merge (update, add, remove), external join, and of
// recovery after a kill (repeatedly: the recovery of a recovery), and of
// the restore command at every step followed by a second restore. After
// each kill: every answer alice gave is in her outbox (none lost), a
// retried call returns the stored answer if the call had happened, no
// commit is pending, alice, bob, carol (and dave) share epoch and epoch
// authenticator (no fork), and no (key, nonce) pair of alice's messages
// repeats across all her incarnations. Without -short it runs cycles of
// every kind until at least 1,000 aimed kills.
func TestKillCampaign(t *testing.T) {
	const minKills = 1000
	start := time.Now()
	c := &campaign{t: t, ctx: context.Background(), a: newAlice(t), w: newWorld([]byte("kill-campaign")), stats: map[string]*tally{}, stride: 1}
	if testing.Short() {
		c.stride = 5
	}
	c.setup()
	cycles := 0
	for {
		then := termAfter
		if cycles%2 == 1 {
			then = idleAfter
		}
		c.cycle(then)
		cycles++
		if testing.Short() || c.kills() >= minKills {
			break
		}
	}
	c.a.stop()
	c.report(cycles, time.Since(start))
	if !testing.Short() && c.kills() < minKills {
		t.Fatalf("%d aimed kills, want at least %d", c.kills(), minKills)
	}
}

// kills is the number of killpoint kills so far.
func (c *campaign) kills() int {
	n := 0
	for _, t := range c.stats {
		n += t.kills
	}
	return n
}

// report logs one line per kind and the totals.
func (c *campaign) report(cycles int, d time.Duration) {
	order := []string{kindSend, kindReceiveApp, kindReceiveCommit, kindUpdate, kindAdd, kindRemove, kindExternalJoin, kindRestore, kindRecovery}
	var total tally
	for _, k := range order {
		t := c.tally(k)
		c.t.Log(t.line(k))
		total.kills += t.kills
		total.afterAnswer += t.afterAnswer
		if k != kindRestore && k != kindRecovery {
			total.acked += t.acked
			total.inOutbox += t.inOutbox
		}
	}
	c.t.Logf("kill campaign total: %d cycles, aimed kills %d, kill -9 after the answer %d, acknowledged answers checked %d, found in the outbox %d, lost 0, restores reported before the kill %d, lost 0, forks 0 (%d checks), stuck pending commits 0 (%d checks), (key, nonce) repeats 0 (%d messages of alice checked), %s",
		cycles, total.kills, total.afterAnswer, total.acked, total.inOutbox, c.tally(kindRestore).acked, c.w.forkChecks, c.stuck, c.w.nonces.Messages, d.Round(time.Second))
}
