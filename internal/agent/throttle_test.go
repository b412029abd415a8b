package agent

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/schedule"
)

// TestSnapshotPassesYieldToTheAPI: while the API serves requests,
// background snapshots run one at a time and pause after each; snapshots
// the application waits for pass at once; an idle API lifts both bounds.
// (Each try uses a cancelled context: it succeeds only if the gate lets
// the snapshot start at once.)
func TestSnapshotPassesYieldToTheAPI(t *testing.T) {
	clock := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	g := newBGGate(3)
	g.now, g.base = func() time.Time { return clock }, clock
	now, cancel := context.WithCancel(context.Background())
	cancel()
	try := func(reason schedule.Reason) (func(), bool) {
		t.Helper()
		release, err := g.snapshot(now, reason)
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("snapshot(%s): %v", reason, err)
		}
		return release, err == nil
	}
	idle := func() { clock = clock.Add(time.Hour) }

	g.foreground()
	first, ok := try(schedule.ReasonCron)
	if !ok {
		t.Fatal("busy API: the first background snapshot did not start")
	}
	if _, ok := try(schedule.ReasonEpoch); ok {
		t.Error("busy API: a second background snapshot started beside the first")
	}
	if release, ok := try(schedule.ReasonRequest); !ok {
		t.Error("busy API: a requested snapshot was held back")
	} else {
		release()
	}
	clock = clock.Add(100 * time.Millisecond) // the first snapshot's duration
	g.foreground()
	first()
	if _, ok := try(schedule.ReasonReconcile); ok {
		t.Error("busy API: a background snapshot started without pausing after the last one")
	}
	clock = clock.Add(busyPause * 100 * time.Millisecond)
	g.foreground()
	if release, ok := try(schedule.ReasonReconcile); !ok {
		t.Error("busy API: no background snapshot after the pause")
	} else {
		release()
	}

	idle()
	var releases []func()
	for i := range 3 {
		release, ok := try(schedule.ReasonCron)
		if !ok {
			t.Fatalf("idle API: background snapshot %d of 3 did not start", i+1)
		}
		releases = append(releases, release)
	}
	if _, ok := try(schedule.ReasonCron); ok {
		t.Error("idle API: a fourth background snapshot started beyond the bound of 3")
	}
	for _, r := range releases {
		r()
	}
}
