package schedule

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestFakeClock(t *testing.T) {
	c := NewFakeClock(epoch0)
	t3 := c.NewTimer(3 * time.Second)
	t1 := c.NewTimer(time.Second)
	t2 := c.NewTimer(2 * time.Second)
	now := c.NewTimer(0)
	select {
	case got := <-now.C():
		if !got.Equal(epoch0) {
			t.Errorf("zero timer fired with %s, want %s", got, epoch0)
		}
	default:
		t.Errorf("a zero-duration timer did not fire at once")
	}
	want := []time.Time{epoch0.Add(time.Second), epoch0.Add(2 * time.Second), epoch0.Add(3 * time.Second)}
	if got := c.Deadlines(); !slices.Equal(got, want) {
		t.Errorf("Deadlines() = %v, want %v", got, want)
	}
	if !t2.Stop() || t2.Stop() {
		t.Errorf("Stop: want true once, then false")
	}
	c.Advance(1500 * time.Millisecond)
	if got := <-t1.C(); !got.Equal(want[0]) {
		t.Errorf("t1 fired with %s, want %s", got, want[0])
	}
	if got := c.Now(); !got.Equal(epoch0.Add(1500 * time.Millisecond)) {
		t.Errorf("Now() = %s after Advance", got)
	}
	c.Set(epoch0) // backwards: ignored
	if got := c.Now(); !got.Equal(epoch0.Add(1500 * time.Millisecond)) {
		t.Errorf("Set backwards moved the clock to %s", got)
	}
	c.Set(epoch0.Add(time.Hour))
	if got := <-t3.C(); !got.Equal(want[2]) {
		t.Errorf("t3 fired with %s, want %s", got, want[2])
	}
	if len(c.Deadlines()) != 0 {
		t.Errorf("timers pending after all fired: %v", c.Deadlines())
	}
}

func TestFakeClockWait(t *testing.T) {
	c := NewFakeClock(epoch0)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	done := make(chan []time.Time, 1)
	go func() {
		d, err := c.WaitTimers(ctx, 2)
		if err != nil {
			t.Errorf("WaitTimers: %v", err)
		}
		done <- d
	}()
	c.NewTimer(time.Minute)
	c.After(time.Hour)
	got := recv(t, done, "WaitTimers")
	if want := []time.Time{epoch0.Add(time.Minute), epoch0.Add(time.Hour)}; !slices.Equal(got, want) {
		t.Errorf("WaitTimers = %v, want %v", got, want)
	}
	if err := c.WaitDeadline(ctx, epoch0.Add(time.Hour)); err != nil {
		t.Errorf("WaitDeadline: %v", err)
	}
	short, cancelShort := context.WithCancel(context.Background())
	cancelShort()
	if _, err := c.WaitTimers(short, 3); err == nil {
		t.Errorf("WaitTimers with a cancelled context returned nil")
	}
}

func TestRealClock(t *testing.T) {
	var c Clock = RealClock{}
	tm := c.NewTimer(0)
	<-tm.C()
	<-c.After(0)
	if tm.Stop() {
		t.Errorf("Stop of a fired timer returned true")
	}
	if c.Now().IsZero() {
		t.Errorf("Now() is zero")
	}
}
