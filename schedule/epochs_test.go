package schedule

import (
	"slices"
	"testing"
)

func TestEveryNEpochs(t *testing.T) {
	seq := func(from, to uint64) []uint64 {
		var out []uint64
		for e := from; e <= to; e++ {
			out = append(out, e)
		}
		return out
	}
	tests := []struct {
		name   string
		every  uint64
		epochs []uint64 // reported in this order
		want   []uint64 // epochs snapshotted
	}{
		{"every 10, one by one", 10, seq(1, 35), []uint64{10, 20, 30}},
		{"every 3, one by one", 3, seq(1, 10), []uint64{3, 6, 9}},
		{"every 1", 1, seq(1, 4), []uint64{1, 2, 3, 4}},
		{"jump past a multiple", 10, []uint64{9, 23, 24, 29, 31, 55}, []uint64{23, 31, 55}},
		{"jump past two multiples snapshots once", 10, []uint64{5, 27, 28}, []uint64{27}},
		{"rollback then forward again", 10, []uint64{12, 8, 9, 10, 11}, []uint64{12, 10}},
		{"off", 0, seq(1, 25), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.EveryEpochs = tt.every
			h := newHarness(t, cfg, false, epoch0)
			h.run()
			var triggered []uint64
			for _, e := range tt.epochs {
				h.agent.setEpoch("g", e)
				if h.s.EpochChanged([]byte("g"), e) {
					triggered = append(triggered, e)
					// Let the snapshot finish before the epoch moves on,
					// so it captures exactly this epoch.
					h.waitIdle()
				}
			}
			h.waitIdle()
			var got []uint64
			for _, c := range h.agent.snapshotCalls() {
				if c.reason != ReasonEpoch {
					t.Errorf("snapshot at epoch %d: reason %s, want %s", c.epoch, c.reason, ReasonEpoch)
				}
				got = append(got, c.epoch)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("snapshotted epochs %v, want %v", got, tt.want)
			}
			if !slices.Equal(triggered, tt.want) {
				t.Errorf("EpochChanged reported triggers at %v, want %v", triggered, tt.want)
			}
		})
	}
}

func TestEveryNEpochsPerGroup(t *testing.T) {
	cfg := testConfig()
	cfg.EveryEpochs = 4
	h := newHarness(t, cfg, false, epoch0)
	h.run()
	// Two groups advance interleaved, b two epochs behind a.
	for e := uint64(1); e <= 9; e++ {
		for _, g := range []string{"a", "b"} {
			ge := e
			if g == "b" {
				if e < 3 {
					continue
				}
				ge = e - 2
			}
			h.agent.setEpoch(g, ge)
			if h.s.EpochChanged([]byte(g), ge) {
				h.waitIdle()
			}
		}
	}
	h.waitIdle()
	got := map[string][]uint64{}
	for _, c := range h.agent.snapshotCalls() {
		got[c.group] = append(got[c.group], c.epoch)
	}
	want := map[string][]uint64{"a": {4, 8}, "b": {4}}
	for g, w := range want {
		if !slices.Equal(got[g], w) {
			t.Errorf("group %s snapshotted at %v, want %v", g, got[g], w)
		}
	}
}

func TestStartupCatchUpOfEpochSnapshots(t *testing.T) {
	cfg := testConfig()
	cfg.EveryEpochs = 10
	h := newHarness(t, cfg, true, epoch0)
	// a: its last multiple (20) is uploaded. b: 20 never uploaded.
	// c: below the first multiple. d: at 10, never uploaded.
	h.agent.setEpoch("a", 23)
	h.agent.setUploaded("a", 20)
	h.agent.setEpoch("b", 23)
	h.agent.setUploaded("b", 15)
	h.agent.setEpoch("c", 9)
	h.agent.setEpoch("d", 10)
	h.run()

	var got []string
	for range 2 {
		ev := recv(t, h.rec.snaps, "start-up snapshot")
		got = append(got, string(ev.Group))
	}
	slices.Sort(got)
	if want := []string{"b", "d"}; !slices.Equal(got, want) {
		t.Fatalf("start-up snapshots of %v, want %v", got, want)
	}
	// The start-up listing seeded the epochs: a at 23 -> 24 is no multiple.
	if h.s.EpochChanged([]byte("a"), 24) {
		t.Errorf("EpochChanged(a, 24) after seeding at 23 triggered a snapshot")
	}
	if !h.s.EpochChanged([]byte("a"), 30) {
		t.Errorf("EpochChanged(a, 30) did not trigger a snapshot")
	}
	h.waitIdle()
	if n := len(h.agent.snapshotCalls()); n != 3 {
		t.Errorf("%d snapshots, want 3", n)
	}
}

func TestForget(t *testing.T) {
	cfg := testConfig()
	cfg.EveryEpochs = 10
	h := newHarness(t, cfg, false, epoch0)
	if !h.s.EpochChanged([]byte("g"), 15) {
		t.Fatalf("EpochChanged(g, 15) did not trigger")
	}
	if h.s.EpochChanged([]byte("g"), 15) {
		t.Errorf("EpochChanged(g, 15) again triggered")
	}
	h.s.Forget([]byte("g"))
	if !h.s.EpochChanged([]byte("g"), 15) {
		t.Errorf("EpochChanged(g, 15) after Forget did not trigger (a new group counts from 0)")
	}
	h.s.mu.Lock()
	_, kept := h.s.groups["g"]
	h.s.mu.Unlock()
	if !kept {
		t.Errorf("Forget dropped the state of a group with a queued snapshot")
	}
}
