package schedule

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"
)

// cronState tracks the next cron slot and its timer. It is used by the loop
// goroutine only.
type cronState struct {
	s       *Scheduler
	slot    time.Time // the slot the timer is armed for
	catchUp bool      // the armed slot is a start-up catch-up
	timer   Timer
}

// start arms the first slot: at once if a slot was missed since the last
// complete pass recorded in the state file, otherwise the next slot.
func (c *cronState) start(ctx context.Context) {
	s := c.s
	if s.cron == nil {
		return
	}
	now := s.clock.Now()
	if s.cfg.StateFile != "" {
		last, found, err := loadState(s.fs, s.cfg.StateFile)
		switch {
		case err != nil:
			s.log.Warn("schedule state unreadable; running a catch-up pass", "err", err)
			c.arm(now, true)
			return
		case !found:
			if err := saveState(s.fs, s.cfg.StateFile, now); err != nil {
				s.log.Warn("schedule state not saved", "err", err)
			}
		default:
			if next := s.nextSlot(last); !next.IsZero() && !next.After(now) {
				s.log.Info("cron slot missed while down; running one catch-up pass",
					"last_pass", last, "missed_slot", next)
				c.arm(now, true)
				return
			}
		}
	}
	c.arm(s.nextSlot(now), false)
}

// fired is called when the armed slot fired at now; it arms the next slot,
// skipping any slot already past.
func (c *cronState) fired(now time.Time) {
	c.timer = nil
	next := c.s.nextSlot(c.slot)
	if !next.IsZero() && !next.After(now) {
		next = c.s.nextSlot(now)
	}
	c.arm(next, false)
}

// arm sets the timer for slot plus jitter; a zero slot disarms.
func (c *cronState) arm(slot time.Time, catchUp bool) {
	c.stopTimer()
	c.slot, c.catchUp = slot, catchUp
	if slot.IsZero() {
		return
	}
	var jitter time.Duration
	if j := c.s.cfg.Jitter; j > 0 {
		jitter = time.Duration(c.s.rand(int64(j)))
	}
	c.timer = c.s.clock.NewTimer(slot.Add(jitter).Sub(c.s.clock.Now()))
}

func (c *cronState) stopTimer() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}

// timerC is the armed timer's channel, or nil (never ready).
func (c *cronState) timerC() <-chan time.Time {
	if c.timer == nil {
		return nil
	}
	return c.timer.C()
}

// nextSlot returns the first cron slot strictly after t, in the configured
// zone, or the zero time if there is none.
func (s *Scheduler) nextSlot(t time.Time) time.Time {
	return s.cron.Next(t.In(s.loc))
}

// PassNow runs one pass at once, exactly as a cron slot does: it lists the
// groups, snapshots every group whose epoch moved since its last complete
// upload (on the workers of [Scheduler.Run]: queued snapshots start when Run
// does), waits for them, and, if all succeeded, records the pass in the
// state file; then the [Retainer], if any, applies retention to the groups
// it snapshotted. The PassDone hook hears of it like of a cron pass. It fails
// with [ErrPassActive] while another pass runs and with [ErrNoLister]
// without a lister; otherwise the event's Err reports a listing or
// state-file error and Failed the snapshots that failed.
func (s *Scheduler) PassNow(ctx context.Context) (PassEvent, error) {
	if s.lister == nil {
		return PassEvent{}, ErrNoLister
	}
	if !s.passActive.CompareAndSwap(false, true) {
		return PassEvent{}, ErrPassActive
	}
	return s.runPass(ctx, s.clock.Now(), false), nil
}

// runPass runs the pass started at start (s.passActive set), clears
// s.passActive (retention does not hold the next slot back), applies
// retention to the groups it snapshotted and calls the hook.
func (s *Scheduler) runPass(ctx context.Context, start time.Time, catchUp bool) PassEvent {
	ev, moved := s.pass(ctx, start, catchUp)
	s.passActive.Store(false)
	if len(moved) > 0 {
		ev.RetainErr = s.applyRetention(ctx, moved)
	}
	if h := s.hooks.PassDone; h != nil {
		h(ev)
	}
	return ev
}

// pass runs one cron pass started at start: it snapshots every group whose
// epoch moved since its last complete upload and, if all succeed, records
// start in the state file. It returns what happened and the groups it
// snapshotted.
func (s *Scheduler) pass(ctx context.Context, start time.Time, catchUp bool) (ev PassEvent, moved [][]byte) {
	ev = PassEvent{Start: start, CatchUp: catchUp}
	defer func() { ev.Duration = s.clock.Now().Sub(start) }()
	list, err := s.lister.Groups(ctx)
	if err != nil {
		ev.Err = fmt.Errorf("cron pass: list groups: %w", err)
		s.log.Warn("cron pass failed", "err", ev.Err)
		return ev, nil
	}
	ev.Groups = len(list)
	for _, g := range list {
		if g.moved() {
			moved = append(moved, g.ID)
		}
	}
	ev.Requested = len(moved)
	ev.Failed = s.snapshotAll(moved, ReasonCron)
	if ev.Failed > 0 || ctx.Err() != nil || s.cfg.StateFile == "" {
		return ev, moved
	}
	if err := saveState(s.fs, s.cfg.StateFile, start); err != nil {
		ev.Err = err
		s.log.Warn("schedule state not saved", "err", err)
		return ev, moved
	}
	ev.Recorded = true
	return ev, moved
}

// seed lists the groups once at start-up: it records their epochs, so that
// EveryEpochs counts from where they are, and queues a snapshot of every
// group whose last multiple of EveryEpochs was never uploaded.
func (s *Scheduler) seed(ctx context.Context) {
	list, err := s.lister.Groups(ctx)
	if err != nil {
		s.log.Warn("start-up check of groups failed", "err", err)
		return
	}
	n := s.cfg.EveryEpochs
	for _, g := range list {
		key := string(g.ID)
		s.mu.Lock()
		if _, ok := s.epochs[key]; !ok {
			s.epochs[key] = g.Epoch
		}
		s.mu.Unlock()
		if m := g.Epoch / n * n; m > 0 && (!g.Uploaded || g.UploadedEpoch < m) {
			s.log.Info("epoch snapshot missing; catching up", "group", hex.EncodeToString(g.ID), "epoch", g.Epoch)
			s.enqueue(key, ReasonEpoch, false, nil)
		}
	}
}
