package schedule

import (
	"errors"
	"testing"
	"time"
)

func TestBackoffDelays(t *testing.T) {
	c := Config{BackoffMin: time.Second, BackoffMax: 10 * time.Second}
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {4, 8 * time.Second},
		{5, 10 * time.Second}, {6, 10 * time.Second}, {1000, 10 * time.Second},
	}
	for _, tt := range tests {
		if got := c.backoff(tt.failures); got != tt.want {
			t.Errorf("backoff(%d) = %s, want %s", tt.failures, got, tt.want)
		}
	}
}

func TestBackoffGrowsAndResets(t *testing.T) {
	cfg := testConfig()
	cfg.BackoffMin, cfg.BackoffMax = time.Second, 4*time.Second
	h := newHarness(t, cfg, false, epoch0)
	errDown := errors.New("bucket down")
	// Calls 1-5 fail, 6 succeeds, 7 fails, 8 succeeds.
	h.agent.setFail(func(n int) error {
		if n <= 5 || n == 7 {
			return errDown
		}
		return nil
	})
	h.run()

	steps := []struct {
		trigger bool          // a new Request before this attempt
		retryIn time.Duration // 0: the attempt succeeds
		attempt int
	}{
		{true, 1 * time.Second, 1},
		{false, 2 * time.Second, 2},
		{false, 4 * time.Second, 3},
		{false, 4 * time.Second, 4}, // capped
		{false, 4 * time.Second, 5},
		{false, 0, 6},
		{true, 1 * time.Second, 1}, // reset by the success
		{false, 0, 2},
	}
	var wantAt []time.Time
	for i, st := range steps {
		if st.trigger {
			h.waitIdle()
			h.s.Request([]byte("g"))
		}
		wantAt = append(wantAt, h.clock.Now())
		ev := recv(t, h.rec.snaps, "a snapshot attempt")
		if ev.Attempt != st.attempt || ev.RetryIn != st.retryIn || (ev.Err == nil) != (st.retryIn == 0) {
			t.Fatalf("step %d: attempt %d, retry in %s, err %v; want attempt %d, retry in %s",
				i, ev.Attempt, ev.RetryIn, ev.Err, st.attempt, st.retryIn)
		}
		if st.retryIn == 0 {
			continue
		}
		if i == 0 {
			// A trigger during the backoff merges into the retry.
			h.s.Request([]byte("g"))
		}
		want := h.clock.Now().Add(st.retryIn)
		if got := h.nextDeadline(); !got.Equal(want) {
			t.Fatalf("step %d: retry armed for %s, want %s", i, got, want)
		}
		h.clock.Set(want)
	}
	h.waitIdle()
	calls := h.agent.snapshotCalls()
	if len(calls) != len(steps) {
		t.Fatalf("%d snapshots, want %d", len(calls), len(steps))
	}
	for i, c := range calls {
		if !c.at.Equal(wantAt[i]) {
			t.Errorf("attempt %d ran at %s, want %s", i+1, c.at, wantAt[i])
		}
	}
	if want := ReasonRequest | ReasonRetry; calls[1].reason != want {
		t.Errorf("retry reason %s, want %s", calls[1].reason, want)
	}
}

func TestPermanentErrorIsNotRetried(t *testing.T) {
	h := newHarness(t, testConfig(), false, epoch0)
	errGone := Permanent(errors.New("group deleted"))
	h.agent.setFail(func(int) error { return errGone })
	h.run()
	h.s.Request([]byte("g"))
	ev := recv(t, h.rec.snaps, "the failed snapshot")
	if !errors.Is(ev.Err, errGone) || ev.RetryIn != 0 {
		t.Errorf("event err %v retry in %s; want the permanent error and no retry", ev.Err, ev.RetryIn)
	}
	h.waitIdle() // returns only because no retry is queued
	if n := len(h.agent.snapshotCalls()); n != 1 {
		t.Errorf("%d snapshots, want 1", n)
	}
	h.s.Forget([]byte("g"))
	h.s.mu.Lock()
	left := len(h.s.groups)
	h.s.mu.Unlock()
	if left != 0 {
		t.Errorf("%d group states left after Forget, want 0", left)
	}
}

func TestSyncRequestSkipsBackoff(t *testing.T) {
	cfg := testConfig()
	cfg.BeforeRemove = true
	h := newHarness(t, cfg, false, epoch0)
	h.agent.setFail(func(n int) error {
		if n == 1 {
			return errors.New("bucket down")
		}
		return nil
	})
	h.run()
	h.s.Request([]byte("g"))
	if ev := recv(t, h.rec.snaps, "the failed snapshot"); ev.RetryIn == 0 {
		t.Fatalf("no retry scheduled after %v", ev.Err)
	}
	// The clock does not move: the synchronous request must not wait.
	if err := h.s.BeforeRemove(h.ctx(), []byte("g")); err != nil {
		t.Fatalf("BeforeRemove during backoff: %v", err)
	}
	h.waitIdle()
	calls := h.agent.snapshotCalls()
	if len(calls) != 2 || !calls[1].at.Equal(epoch0) {
		t.Fatalf("calls %+v, want a second one at once", calls)
	}
	if want := ReasonRequest | ReasonRetry | ReasonBeforeRemove; calls[1].reason != want {
		t.Errorf("reason %s, want %s (the retry merged in)", calls[1].reason, want)
	}
}
