package schedule

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// TestPassNow runs passes on request: the same selection as a cron pass
// (moved groups only), the hook hears of it, a complete pass is recorded
// in the state file, and a second pass finds nothing to do.
func TestPassNow(t *testing.T) {
	cfg := testConfig()
	cfg.StateFile = filepath.Join(t.TempDir(), "schedule.json")
	h := newHarness(t, cfg, true, epoch0)
	h.agent.setEpoch("a-unchanged", 5)
	h.agent.setUploaded("a-unchanged", 5)
	h.agent.setEpoch("b-moved", 7)
	h.agent.setUploaded("b-moved", 3)
	h.agent.setEpoch("c-never-uploaded", 2)
	h.run()

	tests := []struct {
		name          string
		wantRequested int
	}{
		{"first pass", 2},
		{"nothing moved since", 0},
	}
	for _, tt := range tests {
		ev, err := h.s.PassNow(context.Background())
		if err != nil || ev.Groups != 3 || ev.Requested != tt.wantRequested || ev.Failed != 0 || !ev.Recorded || ev.Err != nil {
			t.Errorf("%s: PassNow = %+v, %v; want 3 groups, %d requested, recorded", tt.name, ev, err, tt.wantRequested)
		}
		if hook := recv(t, h.rec.passes, "the pass hook"); hook.Requested != ev.Requested {
			t.Errorf("%s: hook saw %+v, PassNow returned %+v", tt.name, hook, ev)
		}
	}
	checkSnapshots(t, h, ReasonCron, "b-moved", "c-never-uploaded")
	if last, found, err := loadState(h.s.fs, cfg.StateFile); err != nil || !found || !last.Equal(epoch0) {
		t.Errorf("state = %s, %v, %v; want the pass start %s", last, found, err, epoch0)
	}
}

// TestPassNowErrors: no lister, and a pass already running.
func TestPassNowErrors(t *testing.T) {
	h := newHarness(t, testConfig(), false, epoch0)
	if _, err := h.s.PassNow(context.Background()); !errors.Is(err, ErrNoLister) {
		t.Errorf("PassNow without a lister: %v, want ErrNoLister", err)
	}

	h = newHarness(t, testConfig(), true, epoch0)
	h.agent.setEpoch("g", 1)
	block := make(chan struct{})
	h.agent.setBlock(block)
	h.run()
	first := make(chan error, 1)
	go func() {
		_, err := h.s.PassNow(context.Background())
		first <- err
	}()
	recv(t, h.agent.started, "the first pass's snapshot")
	if _, err := h.s.PassNow(context.Background()); !errors.Is(err, ErrPassActive) {
		t.Errorf("second PassNow: %v, want ErrPassActive", err)
	}
	close(block)
	if err := recv(t, first, "the first pass"); err != nil {
		t.Errorf("first PassNow: %v", err)
	}
}
