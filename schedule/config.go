package schedule

import (
	"errors"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// Config says when snapshots are taken. The yaml tags match the agent's
// `snapshot:` section.
type Config struct {
	// EveryEpochs snapshots a group each time its epoch reaches a multiple
	// of this number. 0 turns it off. Default 10.
	EveryEpochs uint64 `yaml:"every_epochs"`
	// Cron is a robfig/cron/v3 standard spec ("0 3 * * *", "@hourly",
	// "@every 1h"). Empty turns cron passes off (the default).
	Cron string `yaml:"cron"`
	// TimeZone is the IANA zone Cron is evaluated in ("Europe/Paris",
	// "Local"). Empty means UTC. A CRON_TZ= prefix in Cron wins over it.
	TimeZone string `yaml:"time_zone"`
	// BeforeRemove snapshots a group before a member is removed from it.
	// Default true.
	BeforeRemove bool `yaml:"before_remove"`
	// Jitter delays each cron pass by a random duration in [0, Jitter).
	// Default 10s.
	Jitter time.Duration `yaml:"jitter"`
	// MaxConcurrent is the number of snapshots that may run at once.
	// Default 4.
	MaxConcurrent int `yaml:"max_concurrent"`
	// BackoffMin is the delay before the first retry of a failed snapshot;
	// each further failure doubles it. Default 1s.
	BackoffMin time.Duration `yaml:"backoff_min"`
	// BackoffMax caps the retry delay. Default 5m.
	BackoffMax time.Duration `yaml:"backoff_max"`
	// StateFile keeps the time of the last complete cron pass, for
	// catch-up after downtime. Empty disables catch-up.
	StateFile string `yaml:"state_file"`
	// ReconcileInterval is how often a [Reconciler] compares the
	// destination with the groups, besides once at start. 0 keeps only
	// the check at start.
	ReconcileInterval time.Duration `yaml:"reconcile_interval"`
}

// Default returns the default configuration.
func Default() Config {
	return Config{
		EveryEpochs:   10,
		BeforeRemove:  true,
		Jitter:        10 * time.Second,
		MaxConcurrent: 4,
		BackoffMin:    time.Second,
		BackoffMax:    5 * time.Minute,
	}
}

// Validate checks c and returns an error naming the first bad field.
func (c Config) Validate() error {
	if _, err := c.schedule(); err != nil {
		return err
	}
	if _, err := c.location(); err != nil {
		return err
	}
	switch {
	case c.Jitter < 0:
		return fmt.Errorf("schedule: jitter: must not be negative, got %s", c.Jitter)
	case c.MaxConcurrent < 1:
		return fmt.Errorf("schedule: max_concurrent: must be at least 1, got %d", c.MaxConcurrent)
	case c.BackoffMin <= 0:
		return fmt.Errorf("schedule: backoff_min: must be positive, got %s", c.BackoffMin)
	case c.BackoffMax < c.BackoffMin:
		return fmt.Errorf("schedule: backoff_max: must be at least backoff_min (%s), got %s", c.BackoffMin, c.BackoffMax)
	case c.ReconcileInterval < 0:
		return fmt.Errorf("schedule: reconcile_interval: must not be negative, got %s", c.ReconcileInterval)
	}
	return nil
}

// schedule parses Cron; it returns nil, nil when cron is off.
func (c Config) schedule() (cron.Schedule, error) {
	if c.Cron == "" {
		return nil, nil
	}
	s, err := cron.ParseStandard(c.Cron)
	if err != nil {
		return nil, fmt.Errorf("schedule: cron: %q: %w", c.Cron, err)
	}
	return s, nil
}

func (c Config) location() (*time.Location, error) {
	if c.TimeZone == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("schedule: time_zone: %q: %w", c.TimeZone, err)
	}
	return loc, nil
}

// backoff returns the delay before the retry that follows the given number
// of consecutive failures (1 for the first).
func (c Config) backoff(failures int) time.Duration {
	d := c.BackoffMin
	for i := 1; i < failures; i++ {
		if d >= c.BackoffMax/2 {
			return c.BackoffMax
		}
		d *= 2
	}
	return min(d, c.BackoffMax)
}

// Sentinel errors.
var (
	// ErrStopped is returned to callers waiting for a snapshot that will not
	// run because the scheduler stopped.
	ErrStopped = errors.New("schedule: scheduler stopped")
	// ErrRunning is returned by a second call of [Scheduler.Run].
	ErrRunning = errors.New("schedule: already running")
	// ErrPassActive is returned by [Scheduler.PassNow] while another pass
	// (cron or on request) is running.
	ErrPassActive = errors.New("schedule: a pass is already running")
	// ErrNoLister is returned by [Scheduler.PassNow] when the scheduler has
	// no [GroupLister].
	ErrNoLister = errors.New("schedule: no group lister")
	// ErrReconcileActive is returned by [Scheduler.ReconcileNow] while
	// another reconciliation is running.
	ErrReconcileActive = errors.New("schedule: a reconciliation is already running")
	// ErrNoReconciler is returned by [Scheduler.ReconcileNow] when the
	// scheduler has no [Reconciler].
	ErrNoReconciler = errors.New("schedule: no reconciler")
)

// permanentError marks an error that retrying will not fix.
type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent wraps err so that the scheduler does not retry the snapshot that
// failed with it (for example, the group no longer exists). errors.Is and
// errors.As see through the wrapper.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was wrapped with [Permanent].
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}
