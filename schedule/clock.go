package schedule

import "time"

// Clock is the scheduler's source of time. [RealClock] reads the system
// clock; [FakeClock] moves only when a test advances it.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a timer that sends the time on its channel once,
	// after d. A d <= 0 fires at once.
	NewTimer(d time.Duration) Timer
	// After is NewTimer(d).C().
	After(d time.Duration) <-chan time.Time
}

// Timer is a one-shot timer made by a [Clock].
type Timer interface {
	// C is the channel the timer fires on.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it did so
	// (false if it had already fired or been stopped).
	Stop() bool
}

// RealClock is the system clock.
type RealClock struct{}

var _ Clock = RealClock{}

// Now implements [Clock].
func (RealClock) Now() time.Time { return time.Now() }

// NewTimer implements [Clock].
func (RealClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

// After implements [Clock].
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }
