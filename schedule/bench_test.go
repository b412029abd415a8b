package schedule

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// benchAgent is a Snapshotter and GroupLister whose snapshots cost nothing,
// so the benchmark measures the scheduler alone.
type benchAgent struct {
	mu     sync.Mutex
	groups []GroupStatus
	index  map[string]int
}

func newBenchAgent(n int) *benchAgent {
	a := &benchAgent{index: make(map[string]int, n)}
	for i := range n {
		id := fmt.Sprintf("group-%06d", i)
		a.index[id] = i
		a.groups = append(a.groups, GroupStatus{ID: []byte(id), Epoch: 1})
	}
	return a
}

func (a *benchAgent) Snapshot(_ context.Context, group []byte, _ Reason) (uint64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	g := &a.groups[a.index[string(group)]]
	g.Uploaded, g.UploadedEpoch = true, g.Epoch
	return g.Epoch, nil
}

func (a *benchAgent) Groups(context.Context) ([]GroupStatus, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]GroupStatus, len(a.groups))
	copy(out, a.groups)
	return out, nil
}

// bump moves the epoch of every step-th group.
func (a *benchAgent) bump(step int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := 0; i < len(a.groups); i += step {
		a.groups[i].Epoch++
	}
}

// BenchmarkCronPass runs cron passes over n groups of which a share moved:
// the scheduler's own cost of a pass (listing, filtering, queueing,
// dispatching to the workers), with free snapshots.
func BenchmarkCronPass(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		for _, step := range []int{1, 100} {
			b.Run(fmt.Sprintf("groups=%d/changed=%d%%", n, 100/step), func(b *testing.B) {
				cfg := testConfig()
				cfg.Cron = "@every 1m"
				cfg.MaxConcurrent = 4
				clock := NewFakeClock(epoch0)
				agent := newBenchAgent(n)
				passes := make(chan PassEvent, 1)
				s, err := New(cfg, Deps{Snapshotter: agent, Lister: agent, Clock: clock,
					Hooks: Hooks{PassDone: func(e PassEvent) { passes <- e }}})
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- s.Run(ctx) }()
				defer func() {
					cancel()
					<-done
				}()
				pass := func(want int) {
					d, err := clock.WaitTimers(ctx, 1)
					if err != nil {
						b.Fatal(err)
					}
					clock.Set(d[0])
					if ev := <-passes; ev.Requested != want || ev.Failed != 0 {
						b.Fatalf("pass %+v, want %d snapshots", ev, want)
					}
				}
				pass(n) // the first pass uploads every group
				for b.Loop() {
					b.StopTimer()
					agent.bump(step)
					b.StartTimer()
					pass((n + step - 1) / step)
				}
			})
		}
	}
}
