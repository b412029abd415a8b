package agent

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlsbackup/mlsbackup/internal/destcheck"
)

// Bounds of the delay between two destination checks while the
// destination fails; it doubles from the first to the second.
const (
	destRecheckMin = 5 * time.Second
	destRecheckMax = 5 * time.Minute
)

// destHealth is what the agent knows of its destination: whether the last
// check (package destcheck, the one `mlsbackup check` runs) failed, and
// which check with which cause (the details, which may name keys and
// paths, go to the log only). A passing check or a complete upload clears
// it. The agent keeps serving MLS meanwhile: a backup outage must not
// stop messaging.
type destHealth struct {
	mu      sync.Mutex
	failing bool
	reason  string
	since   time.Time
	checks  int // checks that ended, for tests
}

// set records the outcome of a check.
func (d *destHealth) set(rep destcheck.Report, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.checks++
	f, failed := rep.Failure()
	if !failed {
		d.failing, d.reason = false, ""
		return
	}
	if !d.failing {
		d.since = now
	}
	d.failing, d.reason = true, f.Check+" check failed ("+string(f.Cause)+")"
}

// clear records that the destination works (an upload completed).
func (d *destHealth) clear() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.failing, d.reason = false, ""
}

// checked returns how many checks have ended.
func (d *destHealth) checked() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.checks
}

// state returns whether the destination fails, why and since when.
func (d *destHealth) state() (failing bool, reason string, since time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.failing, d.reason, d.since
}

// watchDestination checks the destination at start and, while it fails,
// again after 5 s, 10 s, ... up to every 5 minutes, until a check passes
// or an upload clears the failure, or ctx ends. Failures are logged and
// make GET /healthz answer "degraded"; the agent keeps serving.
func (a *Agent) watchDestination(ctx context.Context) {
	cfg := a.Config()
	opts := destcheck.Options{
		Store:    a.dest,
		Prefix:   cfg.Destination.Prefix,
		AgentID:  cfg.ClientName,
		TakeOver: a.opts.TakeOver,
		Logger:   a.log,
	}
	delay := destRecheckMin
	for {
		rep := destcheck.Destination(ctx, opts)
		if ctx.Err() != nil {
			return
		}
		a.destHealth.set(rep, time.Now())
		f, failed := rep.Failure()
		if !failed {
			a.log.Info("destination check passed", "destination", rep.Destination)
			return
		}
		a.log.Warn("destination check failed: snapshots wait, MLS is served; checking again", "destination", rep.Destination,
			"check", f.Check, "cause", f.Cause, "detail", f.Detail, "retry_in", delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if failing, _, _ := a.destHealth.state(); !failing {
			return // an upload succeeded meanwhile
		}
		delay = min(2*delay, destRecheckMax)
	}
}

// destMetrics are the metrics of the destination's health.
func (a *Agent) destMetrics() []prometheus.Collector {
	ok := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mlsbackup_destination_ok", Help: "0 while the destination check fails (GET /healthz answers degraded then), 1 otherwise.",
	}, func() float64 {
		if failing, _, _ := a.destHealth.state(); failing {
			return 0
		}
		return 1
	})
	return []prometheus.Collector{ok}
}
