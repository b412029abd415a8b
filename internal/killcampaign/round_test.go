package killcampaign

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"
)

// after says what the harness does once a call under test has answered.
type after int

const (
	// termAfter sends SIGTERM at once: the rest of the call's steps (the
	// component files, the checkpoint) run in the graceful shutdown.
	termAfter after = iota
	// idleAfter lets the agent run on for idleWait (its background
	// applier writes the component files), then sends SIGTERM.
	idleAfter
	// killAfter kills the agent with SIGKILL at once (not aimed by the
	// killpoint: "just after the answer").
	killAfter
)

func (a after) String() string {
	return [...]string{"SIGTERM after the answer", "idle after the answer", "kill -9 after the answer"}[a]
}

// idleWait is how long idleAfter lets the agent run after the answer:
// past localstore's default ApplyDelay (50ms).
const idleWait = 120 * time.Millisecond

// round makes one call with the killpoint aimed at its aim-th step (0:
// not aimed), lets the kill happen, restarts alice (with recovery itself
// killed at every step first, if chain) and checks the invariants. It
// reports whether the aim lay past the call's last step (the call and
// the shutdown after it completed without a kill).
func (c *campaign) round(cl *call, aim int64, then after, chain bool) (survived bool) {
	c.t.Helper()
	t := c.tally(cl.kind)
	if aim > 0 {
		ok, err := c.a.p.arm(c.a.killFile, aim)
		if err != nil || !ok {
			c.fatalf("%s: arm at %d: %v (agent died: %v)", cl.kind, aim, err, !ok)
		}
	}
	ctx, cancel := context.WithTimeout(c.ctx, time.Minute)
	first, err := cl.do(ctx, c.a.cl)
	cancel()
	acked := err == nil
	where := fmt.Sprintf("%s (aim %d, %s)", cl.kind, aim, then)
	if acked {
		// An application delivers what it was answered at once.
		if err := cl.settle(c.ctx, first); err != nil {
			c.fatalf("%s: deliver the answer: %v (%v)", where, err, c.forked())
		}
	}
	switch {
	case then == killAfter:
		if !acked {
			c.fatalf("%s: the call failed without a kill: %v", where, err)
		}
		c.a.p.signal(syscall.SIGKILL)
	case then == idleAfter && acked:
		select {
		case <-c.a.p.done:
		case <-time.After(idleWait):
		}
		c.a.p.signal(syscall.SIGTERM)
	default:
		c.a.p.signal(syscall.SIGTERM)
	}
	if werr := c.a.p.wait(time.Minute); werr != nil {
		c.fatalf("%s: %v", where, werr)
	}
	c.a.close()
	step, sigkill, code := c.a.p.outcome()
	switch {
	case step != "":
		where += " killed at " + step
		if err := t.kill(step, aim); err != nil {
			c.fatalf("%s: %v", where, err)
		}
		if !acked {
			t.unanswered++
		}
	case sigkill && then == killAfter:
		t.afterAnswer++
	case code == 0 && acked:
		t.survived++
		survived = true
	default:
		c.fatalf("%s: the agent exited with code %d (sigkill %v); call error: %v", where, code, sigkill, err)
	}
	if !acked && step == "" {
		c.fatalf("%s: the call failed although the agent was not killed: %v", where, err)
	}
	c.restart(chain)
	c.check(cl, where, first, acked, t)
	// Every incarnation sends: its message must not repeat a key and
	// nonce of an earlier one.
	c.unaimed(c.w.sendCall(c.next()))
	return survived
}

// restart starts alice again; with chain, first kills her recovery at its
// first step, then (on what that left) at its second, and so on until a
// recovery completes: the recovery of a recovery of a recovery.
func (c *campaign) restart(chain bool) {
	c.t.Helper()
	if chain {
		t := c.tally(kindRecovery)
		for at := int64(1); ; at = c.nextAim(at) {
			step := c.a.start(at)
			if step == "" {
				t.chains++
				return
			}
			if err := t.kill(step, at); err != nil {
				c.fatalf("recovery: %v", err)
			}
			if at > 10000 {
				c.fatalf("recovery still killed at its step %d", at)
			}
		}
	}
	if step := c.a.start(0); step != "" {
		c.fatalf("unaimed start killed at %s", step)
	}
}

// check verifies, after the restart, what the killed call left: an
// answer that was received is in the outbox; the retry returns the
// stored answer if the call had happened and makes it anew if not; then
// it delivers and acknowledges the answer and checks for a pending commit
// and a fork.
func (c *campaign) check(cl *call, where string, first []byte, acked bool, t *tally) {
	c.t.Helper()
	ctx := c.ctx
	entries, err := c.a.outbox(ctx)
	if err != nil {
		c.fatalf("%s: %v", where, err)
	}
	var stored []byte
	for _, e := range entries {
		if e.Op != cl.op || (cl.key != "" && e.IdempotencyKey != cl.key) || stored != nil {
			c.fatalf("%s: the outbox holds an entry of another call (%s %q) or two entries: %d entries", where, e.Op, e.IdempotencyKey, len(entries))
		}
		stored = e.Response
	}
	if acked {
		t.acked++
		if stored == nil {
			c.fatalf("%s: acknowledged answer lost: it is not in the outbox after the restart", where)
		}
		c.same(cl, where+": the outbox holds another answer than the one acknowledged", first, stored)
		t.inOutbox++
	}
	again, err := cl.do(ctx, c.a.cl)
	if err != nil {
		c.fatalf("%s: retry after the restart: %v", where, err)
	}
	if stored != nil {
		c.same(cl, where+": the retry did not return the stored answer", stored, again)
		t.stored++
	} else {
		t.fresh++
	}
	if !acked {
		if err := cl.settle(ctx, again); err != nil {
			c.fatalf("%s: deliver the retried answer: %v (%v)", where, err, c.forked())
		}
	}
	entries, err = c.a.outbox(ctx)
	if err != nil {
		c.fatalf("%s: %v", where, err)
	}
	if len(entries) != 1 {
		c.fatalf("%s: %d outbox entries after the retry, want 1", where, len(entries))
	}
	c.same(cl, where+": the outbox entry differs from the retried answer", entries[0].Response, again)
	if err := c.a.ackAll(ctx); err != nil {
		c.fatalf("%s: %v", where, err)
	}
	c.checkGroup(where)
}

// checkGroup fails on a pending commit or a fork.
func (c *campaign) checkGroup(where string) {
	c.t.Helper()
	info, err := c.a.cl.Info(c.ctx, c.w.gid)
	if err != nil {
		c.fatalf("%s: info: %v", where, err)
	}
	c.stuck++
	if info.PendingCommit {
		c.fatalf("%s: stuck pending commit at epoch %d", where, info.Epoch)
	}
	if err := c.w.checkFork(info); err != nil {
		c.fatalf("%s: %v", where, err)
	}
}

// forked says whether alice and the peers disagree on the group state
// (after a delivery failed).
func (c *campaign) forked() error {
	info, err := c.a.cl.Info(c.ctx, c.w.gid)
	if err != nil {
		return err
	}
	return c.w.checkFork(info)
}

// same fails unless two answers of cl are the same.
func (c *campaign) same(cl *call, what string, x, y []byte) {
	c.t.Helper()
	cx, err1 := cl.canon(x)
	cy, err2 := cl.canon(y)
	if err := errors.Join(err1, err2); err != nil || cx != cy {
		c.fatalf("%s (%v):\n%s\n%s", what, err, cx, cy)
	}
}

// unaimed makes a call without a kill, delivers and acknowledges its
// answer (to set up the next call under test).
func (c *campaign) unaimed(cl *call) {
	c.t.Helper()
	raw, err := cl.do(c.ctx, c.a.cl)
	if err != nil {
		c.fatalf("%s (unaimed): %v", cl.kind, err)
	}
	if err := cl.settle(c.ctx, raw); err != nil {
		c.fatalf("%s (unaimed): deliver: %v", cl.kind, err)
	}
	if err := c.a.ackAll(c.ctx); err != nil {
		c.fatalf("%s (unaimed): %v", cl.kind, err)
	}
}

// kind aims a kill at every step of calls made by next, one call per
// step (1, 2, ... until a call and the shutdown after it complete), then
// kills once just after the answer and kills the recovery from there at
// every step.
func (c *campaign) kind(then after, next func() *call) {
	c.t.Helper()
	for aim := int64(1); ; aim = c.nextAim(aim) {
		if c.round(next(), aim, then, false) {
			break
		}
		if aim > 10000 {
			c.fatalf("still killed at step %d", aim)
		}
	}
	c.round(next(), 0, killAfter, true)
}
