package agent

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/schedule"
)

// snapshotConcurrency is how many snapshots run at once while the API is
// idle: a snapshot waits mostly on fsyncs and the network, so more than
// the CPUs pays off. While the API serves requests, background snapshots
// run one at a time, paced (see bgGate).
const snapshotConcurrency = 16

// scheduleConfig maps the configuration's snapshot section onto the
// scheduler's configuration.
func (a *Agent) scheduleConfig(cfg *config.Config) schedule.Config {
	sc := schedule.Default()
	sc.EveryEpochs = cfg.Snapshot.EveryEpochs
	sc.Cron = cfg.Snapshot.Cron
	sc.TimeZone = cfg.Snapshot.Timezone
	sc.BeforeRemove = cfg.Snapshot.BeforeRemove
	sc.Jitter = cfg.Snapshot.Jitter
	sc.StateFile = a.stateFile()
	sc.MaxConcurrent = snapshotConcurrency
	sc.ReconcileInterval = cfg.Snapshot.ReconcileInterval
	return sc
}

// newScheduler builds a scheduler for cfg whose snapshots are the agent's.
func (a *Agent) newScheduler(cfg *config.Config) (*schedule.Scheduler, error) {
	s, err := schedule.New(a.scheduleConfig(cfg), schedule.Deps{
		Snapshotter: schedule.SnapshotterFunc(a.snapshot),
		Lister:      lister{a},
		Reconciler:  a.recon,
		Retainer:    a.recon,
		Clock:       a.opts.Clock,
		FS:          a.fs,
		Logger:      a.log,
		Hooks: schedule.Hooks{
			PassDone: func(ev schedule.PassEvent) {
				a.heads.flush("pass")
				a.log.Info("cron pass done", "groups", ev.Groups, "snapshotted", ev.Requested, "failed", ev.Failed, "duration", ev.Duration, "catch_up", ev.CatchUp)
			},
			ReconcileDone: func(ev schedule.ReconcileEvent) {
				if ev.Err == nil {
					a.log.Info("reconciled with the destination", "destination", a.backup.String(), "uploaded_again", ev.Missing, "failed", ev.Failed, "duration", ev.Duration)
				}
			},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot schedule: %w", err)
	}
	return s, nil
}

// schedRun is one scheduler and, once started, how to stop it.
type schedRun struct {
	s      *schedule.Scheduler
	cancel context.CancelFunc
	done   chan struct{}
}

// schedHolder holds the scheduler in effect; Reload swaps it.
type schedHolder struct {
	mu      sync.Mutex
	cur     *schedule.Scheduler
	run     *schedRun
	running bool // Run has started the schedulers
	stopped bool
}

// get returns the scheduler in effect.
func (h *schedHolder) get() *schedule.Scheduler {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur
}

// startLocked runs s in the background.
func startRun(s *schedule.Scheduler) *schedRun {
	ctx, cancel := context.WithCancel(context.Background())
	r := &schedRun{s: s, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		_ = s.Run(ctx)
	}()
	return r
}

// start starts the scheduler in effect (once).
func (h *schedHolder) start() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.running || h.stopped {
		return
	}
	h.running = true
	h.run = startRun(h.cur)
}

// swap makes s the scheduler in effect, starting it if the agent runs, and
// stops the previous one gracefully (its snapshots in flight finish).
func (h *schedHolder) swap(s *schedule.Scheduler, drain time.Duration) {
	h.mu.Lock()
	old := h.run
	h.cur = s
	if h.running && !h.stopped {
		h.run = startRun(s)
	}
	h.mu.Unlock()
	if old != nil {
		old.stop(drain)
	}
}

// stopAll stops the scheduler in effect: graceful for up to drain, then
// cancels the snapshots still in flight (an interrupted upload leaves
// nothing visible).
func (h *schedHolder) stopAll(drain time.Duration) {
	h.mu.Lock()
	h.stopped = true
	r := h.run
	h.run = nil
	cur := h.cur
	h.mu.Unlock()
	if r != nil {
		r.stop(drain)
		return
	}
	cur.Cancel() // never started: fail waiting callers
}

func (r *schedRun) stop(drain time.Duration) {
	r.cancel()
	t := time.NewTimer(drain)
	defer t.Stop()
	select {
	case <-r.done:
	case <-t.C:
		r.s.Cancel()
		<-r.done
	}
}

// lister reports the agent's groups to the scheduler.
type lister struct{ a *Agent }

var _ schedule.GroupLister = lister{}

// listConcurrency is how many groups the lister reads at once: the first
// listing after start loads every group to learn its epoch, which is CPU
// and file reads, so it uses every core.
const listConcurrency = 8

// Groups implements schedule.GroupLister. Groups are read concurrently;
// the result keeps the sorted order of storedGroups.
func (l lister) Groups(ctx context.Context) ([]schedule.GroupStatus, error) {
	ids, err := l.a.storedGroups(ctx)
	if err != nil {
		return nil, err
	}
	all := make([]schedule.GroupStatus, len(ids))
	ok := make([]bool, len(ids))
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range min(listConcurrency, len(ids)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) || ctx.Err() != nil {
					return
				}
				id := ids[i]
				epoch, found, err := l.a.LocalEpoch(ctx, id)
				if err != nil || !found {
					l.a.log.Warn("list groups: skipping a group that does not load", "group", fmt.Sprintf("%x", id), "err", err)
					continue
				}
				st := schedule.GroupStatus{ID: id, Epoch: epoch}
				if u, up := l.a.uploads.get(id); up {
					st.Uploaded, st.UploadedEpoch = true, u.Epoch
				}
				all[i], ok[i] = st, true
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	out := all[:0]
	for i, st := range all {
		if ok[i] {
			out = append(out, st)
		}
	}
	return out, nil
}

// Reload applies cfg's snapshot schedule, retention and log level. Other changes (data
// directory, destination, client name, listeners) need a restart and are
// reported in the returned error's absence only as a log line.
func (a *Agent) Reload(cfg *config.Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	a.cfgMu.Lock()
	old := a.cfg
	a.cfgMu.Unlock()
	if cfg.DataDir != old.DataDir || cfg.ClientName != old.ClientName || cfg.SocketPath() != old.SocketPath() ||
		cfg.Destination != old.Destination || cfg.Agent != old.Agent || !reflect.DeepEqual(cfg.MLS, old.MLS) {
		a.log.Warn("reload: data_dir, client_name, destination, agent listeners and mls change only on restart")
	}
	s, err := a.newScheduler(cfg)
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	if a.opts.LogLevel != nil {
		if l, ok := levelOf(cfg.Log.Level); ok {
			a.opts.LogLevel.Set(l)
		}
	}
	merged := *old
	merged.Snapshot, merged.Retention, merged.Log = cfg.Snapshot, cfg.Retention, cfg.Log
	a.cfgMu.Lock()
	a.cfg = &merged
	a.cfgMu.Unlock()
	a.sched.swap(s, a.opts.DrainTimeout)
	a.log.Info("configuration reloaded", "every_epochs", cfg.Snapshot.EveryEpochs, "cron", cfg.Snapshot.Cron, "log_level", cfg.Log.Level)
	return nil
}
