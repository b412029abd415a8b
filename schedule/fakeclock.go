package schedule

import (
	"context"
	"slices"
	"sync"
	"time"
)

// FakeClock is a [Clock] for tests: time stands still until [FakeClock.Advance]
// or [FakeClock.Set] moves it, and then the timers that are due fire in
// deadline order. Tests synchronise with the code under test through
// [FakeClock.WaitTimers] instead of sleeping. It is safe for concurrent use.
type FakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer
	changed chan struct{} // closed and replaced whenever the timer set changes
}

var _ Clock = (*FakeClock)(nil)

// NewFakeClock returns a fake clock that reads start.
func NewFakeClock(start time.Time) *FakeClock {
	return &FakeClock{now: start, changed: make(chan struct{})}
}

type fakeTimer struct {
	c        *FakeClock
	ch       chan time.Time
	deadline time.Time
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	i := slices.Index(t.c.timers, t)
	if i < 0 {
		return false
	}
	t.c.timers = slices.Delete(t.c.timers, i, i+1)
	t.c.notifyLocked()
	return true
}

// Now implements [Clock].
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer implements [Clock].
func (c *FakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, ch: make(chan time.Time, 1), deadline: c.now.Add(d)}
	if d <= 0 {
		t.ch <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	c.notifyLocked()
	return t
}

// After implements [Clock].
func (c *FakeClock) After(d time.Duration) <-chan time.Time { return c.NewTimer(d).C() }

// Advance moves the clock forward by d and fires every timer that is due.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(c.now.Add(d))
}

// Set moves the clock to t (which must not be before the current time) and
// fires every timer that is due.
func (c *FakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Before(c.now) {
		return
	}
	c.setLocked(t)
}

func (c *FakeClock) setLocked(t time.Time) {
	c.now = t
	slices.SortStableFunc(c.timers, func(a, b *fakeTimer) int { return a.deadline.Compare(b.deadline) })
	n := 0
	for _, tm := range c.timers {
		if tm.deadline.After(t) {
			break
		}
		tm.ch <- tm.deadline
		n++
	}
	if n > 0 {
		c.timers = slices.Delete(c.timers, 0, n)
		c.notifyLocked()
	}
}

// Deadlines returns the deadlines of the pending timers, earliest first.
func (c *FakeClock) Deadlines() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]time.Time, 0, len(c.timers))
	for _, t := range c.timers {
		out = append(out, t.deadline)
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// WaitTimers blocks until at least n timers are pending and returns their
// deadlines, earliest first, or returns ctx's error.
func (c *FakeClock) WaitTimers(ctx context.Context, n int) ([]time.Time, error) {
	for {
		c.mu.Lock()
		ch := c.changed
		have := len(c.timers)
		c.mu.Unlock()
		if have >= n {
			return c.Deadlines(), nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// WaitDeadline blocks until a timer with deadline t is pending, or returns
// ctx's error.
func (c *FakeClock) WaitDeadline(ctx context.Context, t time.Time) error {
	for {
		c.mu.Lock()
		ch := c.changed
		found := slices.ContainsFunc(c.timers, func(tm *fakeTimer) bool { return tm.deadline.Equal(t) })
		c.mu.Unlock()
		if found {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *FakeClock) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}
