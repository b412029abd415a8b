package schedule

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, whatever the machine has installed
)

func TestCronSlotsInZone(t *testing.T) {
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name  string
		spec  string
		zone  string
		start time.Time
		want  []time.Time
	}{
		{
			// 09:00 in New York is 14:00 UTC in winter and 13:00 UTC once
			// daylight saving time starts on Sunday 8 March 2026.
			name: "daily across the DST change", spec: "0 9 * * *", zone: "America/New_York",
			start: utc("2026-03-06T12:00:00Z"),
			want: []time.Time{utc("2026-03-06T14:00:00Z"), utc("2026-03-07T14:00:00Z"),
				utc("2026-03-08T13:00:00Z"), utc("2026-03-09T13:00:00Z")},
		},
		{
			name: "half-hour offset zone", spec: "30 2 * * *", zone: "Asia/Kolkata",
			start: utc("2026-05-01T00:00:00Z"),
			want:  []time.Time{utc("2026-05-01T21:00:00Z"), utc("2026-05-02T21:00:00Z")},
		},
		{
			name: "weekdays at noon", spec: "0 12 * * 1-5", zone: "Europe/Paris",
			start: utc("2026-11-27T12:00:00Z"), // Friday 13:00 in Paris
			want:  []time.Time{utc("2026-11-30T11:00:00Z"), utc("2026-12-01T11:00:00Z")},
		},
		{
			name: "descriptor", spec: "@hourly", zone: "Asia/Kolkata",
			start: utc("2026-05-01T00:10:00Z"), // 05:40 in Kolkata
			want:  []time.Time{utc("2026-05-01T00:30:00Z"), utc("2026-05-01T01:30:00Z")},
		},
		{
			name: "every", spec: "@every 90m", zone: "Europe/Paris",
			start: utc("2026-05-01T00:10:00Z"),
			want:  []time.Time{utc("2026-05-01T01:40:00Z"), utc("2026-05-01T03:10:00Z")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Cron, cfg.TimeZone = tt.spec, tt.zone
			cfg.StateFile = filepath.Join(t.TempDir(), "schedule.json")
			h := newHarness(t, cfg, true, tt.start)
			h.run()
			for i, want := range tt.want {
				h.agent.setEpoch("g", uint64(i+1)) // moved since the last pass
				if got := h.nextDeadline(); !got.Equal(want) {
					t.Fatalf("slot %d armed for %s, want %s", i, got.UTC(), want)
				}
				h.clock.Set(want)
				ev := recv(t, h.rec.passes, "a cron pass")
				if !ev.Start.Equal(want) || ev.CatchUp || ev.Requested != 1 || !ev.Recorded {
					t.Errorf("pass %d = %+v, want start %s, 1 snapshot, recorded", i, ev, want)
				}
			}
			if got := len(h.agent.snapshotCalls()); got != len(tt.want) {
				t.Errorf("%d snapshots, want %d", got, len(tt.want))
			}
		})
	}
}

func TestCronCatchUp(t *testing.T) {
	hourly := epoch0.Truncate(time.Hour).Add(time.Hour) // 14:00, the next slot after 13:30
	tests := []struct {
		name        string
		state       string // state file content; "" for no file
		wantCatchUp bool
	}{
		{"three slots missed run one pass", `{"version":1,"last_pass":"2026-01-10T10:00:00Z"}`, true},
		{"one slot missed", `{"version":1,"last_pass":"2026-01-10T12:59:00Z"}`, true},
		{"no slot missed", `{"version":1,"last_pass":"2026-01-10T13:00:00Z"}`, false},
		{"first start", "", false},
		{"unreadable state", `{"version":1,"last_pass":`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Cron = "0 * * * *"
			cfg.StateFile = filepath.Join(t.TempDir(), "schedule.json")
			if tt.state != "" {
				if err := os.WriteFile(cfg.StateFile, []byte(tt.state), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			h := newHarness(t, cfg, true, epoch0)
			h.agent.setEpoch("moved", 5)
			h.agent.setUploaded("moved", 4)
			h.agent.setEpoch("still", 3)
			h.agent.setUploaded("still", 3)
			h.run()

			if tt.wantCatchUp {
				ev := recv(t, h.rec.passes, "the catch-up pass")
				if !ev.CatchUp || !ev.Start.Equal(epoch0) || ev.Requested != 1 || !ev.Recorded {
					t.Fatalf("catch-up pass = %+v, want at %s with 1 snapshot, recorded", ev, epoch0)
				}
				last, found, err := loadState(h.s.fs, cfg.StateFile)
				if err != nil || !found || !last.Equal(epoch0) {
					t.Errorf("state after catch-up = %s, %v, %v; want %s", last, found, err, epoch0)
				}
			}
			if got := h.nextDeadline(); !got.Equal(hourly) {
				t.Fatalf("next slot armed for %s, want %s", got, hourly)
			}
			h.clock.Set(hourly)
			ev := recv(t, h.rec.passes, "the 14:00 pass")
			if ev.CatchUp || !ev.Start.Equal(hourly) {
				t.Fatalf("pass = %+v, want the regular pass at %s", ev, hourly)
			}
			wantLists := 1
			if tt.wantCatchUp {
				wantLists = 2
			}
			if got := h.agent.listCalls(); got != wantLists {
				t.Errorf("%d listings, want %d", got, wantLists)
			}
			var got []string
			for _, c := range h.agent.snapshotCalls() {
				got = append(got, c.group)
			}
			if want := []string{"moved"}; !slices.Equal(got, want) {
				t.Errorf("snapshots of %v, want %v (once, whatever the number of missed slots)", got, want)
			}
		})
	}
}

func TestCronPassSkipsUnmovedGroups(t *testing.T) {
	cfg := testConfig()
	cfg.Cron = "@every 1h"
	h := newHarness(t, cfg, true, epoch0)
	set := func(g string, epoch uint64, uploaded int64) {
		h.agent.setEpoch(g, epoch)
		if uploaded >= 0 {
			h.agent.setUploaded(g, uint64(uploaded))
		}
	}
	set("a-unchanged", 5, 5)
	set("b-moved", 7, 3)
	set("c-never-uploaded", 2, -1)
	set("d-rolled-back", 4, 6)
	h.run()
	h.clock.Set(h.nextDeadline())
	ev := recv(t, h.rec.passes, "a cron pass")
	if ev.Groups != 4 || ev.Requested != 3 || ev.Failed != 0 {
		t.Errorf("pass = %+v, want 4 groups, 3 requested, 0 failed", ev)
	}
	checkSnapshots(t, h, ReasonCron, "b-moved", "c-never-uploaded", "d-rolled-back")

	// Nothing moved since: the next pass snapshots nothing.
	h.clock.Set(h.nextDeadline())
	ev = recv(t, h.rec.passes, "the second pass")
	if ev.Requested != 0 {
		t.Errorf("second pass requested %d snapshots, want 0", ev.Requested)
	}
}

func TestCronPassWithFailureIsNotRecorded(t *testing.T) {
	cfg := testConfig()
	cfg.Cron = "@every 1h"
	cfg.StateFile = filepath.Join(t.TempDir(), "schedule.json")
	h := newHarness(t, cfg, true, epoch0)
	h.agent.setEpoch("g", 1)
	h.agent.setFail(func(n int) error {
		if n == 1 {
			return Permanent(os.ErrPermission)
		}
		return nil
	})
	h.run()
	slot := h.nextDeadline()
	h.clock.Set(slot)
	ev := recv(t, h.rec.passes, "a cron pass")
	if ev.Failed != 1 || ev.Recorded {
		t.Errorf("pass = %+v, want 1 failure and not recorded", ev)
	}
	last, _, err := loadState(h.s.fs, cfg.StateFile)
	if err != nil || !last.Equal(epoch0) {
		t.Errorf("state = %s, %v; want the start-up baseline %s", last, err, epoch0)
	}
}

func TestCronJitter(t *testing.T) {
	cfg := testConfig()
	cfg.Cron = "@hourly"
	cfg.Jitter = 10 * time.Minute
	clock := NewFakeClock(epoch0)
	agent := newFakeAgent(clock)
	var asked []int64
	s, err := New(cfg, Deps{Snapshotter: agent, Lister: agent, Clock: clock,
		Rand: func(n int64) int64 { asked = append(asked, n); return n / 4 }})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, clock: clock, agent: agent, s: s}
	h.run()
	want := epoch0.Truncate(time.Hour).Add(time.Hour + cfg.Jitter/4)
	if got := h.nextDeadline(); !got.Equal(want) {
		t.Errorf("pass armed for %s, want %s", got, want)
	}
	h.stop()
	recv(t, h.done, "Run to return")
	if len(asked) != 1 || asked[0] != int64(cfg.Jitter) {
		t.Errorf("jitter drawn with bounds %v, want [%d]", asked, int64(cfg.Jitter))
	}
}

func TestCronClockJumpRunsOnce(t *testing.T) {
	cfg := testConfig()
	cfg.Cron = "@hourly"
	h := newHarness(t, cfg, true, epoch0) // 13:30
	h.agent.setEpoch("g", 1)
	h.run()
	h.nextDeadline()
	jump := epoch0.Add(3*time.Hour + 40*time.Minute) // 17:10: slots 14, 15, 16, 17 passed
	h.clock.Set(jump)
	ev := recv(t, h.rec.passes, "the pass after the jump")
	if !ev.Start.Equal(jump) || ev.Requested != 1 {
		t.Errorf("pass = %+v, want one at %s with 1 snapshot", ev, jump)
	}
	want := jump.Truncate(time.Hour).Add(time.Hour)
	if got := h.nextDeadline(); !got.Equal(want) {
		t.Errorf("next slot armed for %s, want %s", got, want)
	}
	if got := h.agent.listCalls(); got != 1 {
		t.Errorf("%d listings, want 1", got)
	}
}

// failingLister fails every listing.
type failingLister struct{ err error }

func (f failingLister) Groups(context.Context) ([]GroupStatus, error) { return nil, f.err }

func TestCronPassErrors(t *testing.T) {
	errList := errors.New("store unreadable")
	tests := []struct {
		name      string
		lister    GroupLister
		stateFile func(dir string) string
		wantErr   error // nil: any non-nil error
	}{
		{"listing fails", failingLister{errList},
			func(dir string) string { return filepath.Join(dir, "schedule.json") }, errList},
		{"state file not writable", nil,
			func(dir string) string { return filepath.Join(dir, "missing", "schedule.json") }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Cron = "@hourly"
			cfg.StateFile = tt.stateFile(t.TempDir())
			clock := NewFakeClock(epoch0)
			agent := newFakeAgent(clock)
			agent.setEpoch("g", 1)
			lister := tt.lister
			if lister == nil {
				lister = agent
			}
			rec := newRecorder()
			s, err := New(cfg, Deps{Snapshotter: agent, Lister: lister, Clock: clock, Hooks: rec.hooks()})
			if err != nil {
				t.Fatal(err)
			}
			h := &harness{t: t, clock: clock, agent: agent, rec: rec, s: s}
			h.run()
			h.clock.Set(h.nextDeadline())
			ev := recv(t, rec.passes, "the pass")
			if ev.Err == nil || (tt.wantErr != nil && !errors.Is(ev.Err, tt.wantErr)) || ev.Recorded {
				t.Errorf("pass = %+v, want error %v and not recorded", ev, tt.wantErr)
			}
		})
	}
}
