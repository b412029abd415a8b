package schedule

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
)

func TestCoalescing(t *testing.T) {
	tests := []struct {
		name      string
		whileBusy bool // fire the triggers while a snapshot of g runs
		want      int
	}{
		{"burst while queued merges into one", false, 1},
		{"burst while running adds one follow-up", true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.EveryEpochs = 1
			h := newHarness(t, cfg, false, epoch0)
			block := make(chan struct{})
			h.agent.setBlock(block)
			if tt.whileBusy {
				h.run()
				h.s.Request([]byte("g"))
				recv(t, h.agent.started, "first snapshot to start")
			}
			// 100 triggers of all kinds.
			for i := range 100 {
				if i%2 == 0 {
					h.s.Request([]byte("g"))
				} else {
					h.s.EpochChanged([]byte("g"), uint64(i))
				}
			}
			if !tt.whileBusy {
				h.run()
			}
			close(block)
			h.waitIdle()
			calls := h.agent.snapshotCalls()
			if len(calls) != tt.want {
				t.Fatalf("%d snapshots for 100 triggers, want %d", len(calls), tt.want)
			}
			last := calls[len(calls)-1].reason
			if want := ReasonRequest | ReasonEpoch; last != want {
				t.Errorf("merged snapshot reason %s, want %s", last, want)
			}
		})
	}
}

func TestCoalescingConcurrentTriggers(t *testing.T) {
	h := newHarness(t, testConfig(), false, epoch0)
	block := make(chan struct{})
	h.agent.setBlock(block) // the first snapshot lasts the whole burst
	h.run()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 25 {
				h.s.Request([]byte("g"))
			}
		})
	}
	wg.Wait()
	close(block)
	h.waitIdle()
	if n := len(h.agent.snapshotCalls()); n < 1 || n > 2 {
		t.Errorf("%d snapshots for 100 concurrent triggers, want 1 or 2", n)
	}
}

func TestMaxConcurrent(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConcurrent = 3
	h := newHarness(t, cfg, false, epoch0)
	block := make(chan struct{})
	h.agent.setBlock(block)
	h.run()
	groups := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	for _, g := range groups {
		h.s.Request([]byte(g))
	}
	for range cfg.MaxConcurrent {
		recv(t, h.agent.started, "a snapshot to start")
	}
	close(block)
	h.waitIdle()
	calls := h.agent.snapshotCalls()
	var got []string
	for _, c := range calls {
		got = append(got, c.group)
	}
	slices.Sort(got)
	if !slices.Equal(got, groups) {
		t.Errorf("snapshotted %v, want each of %v once", got, groups)
	}
	h.agent.mu.Lock()
	maxIn := h.agent.maxInflight
	h.agent.mu.Unlock()
	if maxIn != cfg.MaxConcurrent {
		t.Errorf("at most %d snapshots ran at once, want %d", maxIn, cfg.MaxConcurrent)
	}
	if got := h.rec.started.Load(); got != int64(len(groups)) {
		t.Errorf("SnapshotStarted called %d times, want %d", got, len(groups))
	}
}

func TestBeforeRemove(t *testing.T) {
	errBoom := errors.New("bucket unreachable")
	tests := []struct {
		name      string
		enabled   bool
		fail      error
		wantErr   error
		wantCalls int
	}{
		{"snapshot uploaded", true, nil, nil, 1},
		{"snapshot error returned", true, errBoom, errBoom, 1},
		{"permanent error returned", true, Permanent(errBoom), errBoom, 1},
		{"disabled", false, errBoom, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.BeforeRemove = tt.enabled
			h := newHarness(t, cfg, false, epoch0)
			h.agent.setFail(func(int) error { return tt.fail })
			h.run()
			err := h.s.BeforeRemove(h.ctx(), []byte("g"))
			calls := h.agent.snapshotCalls()
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("BeforeRemove error %v, want %v", err, tt.wantErr)
			}
			if len(calls) != tt.wantCalls {
				t.Fatalf("%d snapshots when BeforeRemove returned, want %d", len(calls), tt.wantCalls)
			}
			if tt.wantCalls > 0 && calls[0].reason != ReasonBeforeRemove {
				t.Errorf("reason %s, want %s", calls[0].reason, ReasonBeforeRemove)
			}
		})
	}
}

func TestSyncRequestsGoFirst(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConcurrent = 1
	h := newHarness(t, cfg, false, epoch0)
	block := make(chan struct{})
	h.agent.setBlock(block)
	h.run()
	h.s.Request([]byte("a"))
	recv(t, h.agent.started, "a to start")
	h.s.Request([]byte("b"))
	h.s.Request([]byte("c"))
	done := make(chan result, 1)
	// The synchronous enqueue BeforeRemove makes, done here directly so that
	// it is surely queued before a finishes.
	h.s.enqueue("d", ReasonBeforeRemove, true, func(e uint64, err error) { done <- result{e, err} })
	close(block)
	if r := recv(t, done, "d's snapshot"); r.err != nil {
		t.Fatalf("d: %v", r.err)
	}
	h.waitIdle()
	var got []string
	for _, c := range h.agent.snapshotCalls() {
		got = append(got, c.group)
	}
	if want := []string{"a", "d", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestSyncWaitsForSnapshotStartedAfterCall(t *testing.T) {
	h := newHarness(t, testConfig(), false, epoch0)
	block := make(chan struct{})
	h.agent.setBlock(block)
	h.run()
	h.agent.setEpoch("g", 1)
	h.s.Request([]byte("g"))
	recv(t, h.agent.started, "first snapshot to start")
	h.agent.setEpoch("g", 2) // the state moves while the first snapshot runs
	done := make(chan result, 1)
	h.s.enqueue("g", ReasonBeforeRemove, true, func(e uint64, err error) { done <- result{e, err} })
	close(block)
	r := recv(t, done, "the follow-up snapshot")
	if r.err != nil || r.epoch != 2 {
		t.Errorf("synchronous caller got epoch %d, err %v; want epoch 2 from the follow-up", r.epoch, r.err)
	}
}

func TestRequestSync(t *testing.T) {
	h := newHarness(t, testConfig(), false, epoch0)
	h.run()
	h.agent.setEpoch("g", 7)
	got, err := h.s.RequestSync(h.ctx(), []byte("g"))
	if err != nil || got != 7 {
		t.Errorf("RequestSync = %d, %v; want 7, nil", got, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.s.RequestSync(ctx, []byte("g")); !errors.Is(err, context.Canceled) {
		t.Errorf("RequestSync with a cancelled context: %v, want context.Canceled", err)
	}
}

// TestNoOverlapUnderLoad fires every kind of trigger from several goroutines
// at a few groups, with some snapshots failing, and checks that a group
// never has two snapshots at once and that every synchronous caller gets an
// answer.
func TestNoOverlapUnderLoad(t *testing.T) {
	cfg := testConfig()
	cfg.EveryEpochs = 2
	cfg.BeforeRemove = true
	cfg.MaxConcurrent = 4
	h := newHarness(t, cfg, false, epoch0)
	h.agent.setFail(func(n int) error {
		if n%7 == 0 {
			return Permanent(errors.New("injected"))
		}
		return nil
	})
	h.run()
	groups := []string{"a", "b", "c"}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for i := range 200 {
				g := []byte(groups[(w+i)%len(groups)])
				switch i % 4 {
				case 0:
					h.s.Request(g)
				case 1:
					h.s.EpochChanged(g, uint64(i))
				case 2:
					_ = h.s.BeforeRemove(h.ctx(), g)
				case 3:
					_, _ = h.s.RequestSync(h.ctx(), g)
				}
			}
		})
	}
	wg.Wait()
	h.waitIdle()
	h.agent.mu.Lock()
	defer h.agent.mu.Unlock()
	if h.agent.overlaps != 0 {
		t.Errorf("%d overlapping snapshots of one group", h.agent.overlaps)
	}
	if h.agent.maxInflight > cfg.MaxConcurrent {
		t.Errorf("%d snapshots at once, want at most %d", h.agent.maxInflight, cfg.MaxConcurrent)
	}
	if len(h.agent.calls) == 0 {
		t.Errorf("no snapshots taken")
	}
}
