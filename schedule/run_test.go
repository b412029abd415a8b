package schedule

import (
	"context"
	"errors"
	"testing"
)

func TestRunDrainsGracefully(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConcurrent = 1
	h := newHarness(t, cfg, false, epoch0)
	block := make(chan struct{})
	h.agent.setBlock(block)
	h.run()
	h.s.Request([]byte("a"))
	recv(t, h.agent.started, "a to start")
	queued := make(chan error, 1)
	go func() {
		_, err := h.s.RequestSync(context.Background(), []byte("b"))
		queued <- err
	}()

	h.stop() // graceful: a keeps running, b is dropped
	if err := recv(t, queued, "the queued request to fail"); !errors.Is(err, ErrStopped) {
		t.Errorf("queued RequestSync: %v, want ErrStopped", err)
	}
	select {
	case <-h.done:
		t.Fatalf("Run returned while a snapshot was in flight")
	default:
	}
	close(block)
	recv(t, h.done, "Run to return")
	if h.runErr != nil {
		t.Errorf("Run: %v", h.runErr)
	}
	calls := h.agent.snapshotCalls()
	if len(calls) != 1 || calls[0].group != "a" || calls[0].ctxErr != nil {
		t.Errorf("calls %+v, want only a, finished with a live context", calls)
	}

	// Stopped: triggers are ignored, sync calls fail, Run does not restart.
	h.s.Request([]byte("c"))
	if h.s.EpochChanged([]byte("c"), 10) {
		t.Errorf("EpochChanged after stop reported a snapshot")
	}
	if _, err := h.s.RequestSync(h.ctx(), []byte("c")); !errors.Is(err, ErrStopped) {
		t.Errorf("RequestSync after stop: %v, want ErrStopped", err)
	}
	if err := h.s.Run(context.Background()); !errors.Is(err, ErrStopped) {
		t.Errorf("Run after stop: %v, want ErrStopped", err)
	}
	if err := h.s.WaitIdle(h.ctx()); err != nil {
		t.Errorf("WaitIdle after stop: %v", err)
	}
}

func TestCancelAbortsInFlight(t *testing.T) {
	h := newHarness(t, testConfig(), false, epoch0)
	h.agent.setBlock(make(chan struct{})) // never released: only Cancel ends it
	h.run()
	h.s.Request([]byte("a"))
	recv(t, h.agent.started, "a to start")
	h.s.Cancel()
	recv(t, h.done, "Run to return")
	ev := recv(t, h.rec.snaps, "a's result")
	if !errors.Is(ev.Err, context.Canceled) || ev.RetryIn != 0 {
		t.Errorf("a: err %v, retry in %s; want context.Canceled and no retry", ev.Err, ev.RetryIn)
	}
	h.s.Cancel() // a second call is harmless
}

func TestRunStopsWhenIdle(t *testing.T) {
	cfg := testConfig()
	cfg.Cron = "@hourly"
	cfg.EveryEpochs = 10
	h := newHarness(t, cfg, true, epoch0)
	h.run()
	h.nextDeadline() // the loop is up
	if err := h.s.Run(context.Background()); !errors.Is(err, ErrRunning) {
		t.Errorf("second Run: %v, want ErrRunning", err)
	}
	h.stop()
	recv(t, h.done, "Run to return")
	if h.runErr != nil {
		t.Errorf("Run: %v", h.runErr)
	}
	if d := h.clock.Deadlines(); len(d) != 0 {
		t.Errorf("timers left armed after Run returned: %v", d)
	}
}

func TestCancelBeforeRun(t *testing.T) {
	h := newHarness(t, testConfig(), false, epoch0)
	h.s.Cancel()
	if err := h.s.Run(context.Background()); !errors.Is(err, ErrStopped) {
		t.Errorf("Run after Cancel: %v, want ErrStopped", err)
	}
}
