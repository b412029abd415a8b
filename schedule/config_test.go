package schedule

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	if c.EveryEpochs != 10 || !c.BeforeRemove {
		t.Errorf("Default() = %+v, want every_epochs 10 and before_remove on", c)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(c *Config)
		field string // "" for valid
	}{
		{"five fields", func(c *Config) { c.Cron = "0 3 * * *" }, ""},
		{"descriptor", func(c *Config) { c.Cron = "@hourly" }, ""},
		{"every", func(c *Config) { c.Cron = "@every 1h30m" }, ""},
		{"zone", func(c *Config) { c.Cron, c.TimeZone = "0 3 * * *", "Europe/Paris" }, ""},
		{"bad cron", func(c *Config) { c.Cron = "0 3 * *" }, "cron"},
		{"cron with seconds", func(c *Config) { c.Cron = "0 0 3 * * *" }, "cron"},
		{"bad descriptor", func(c *Config) { c.Cron = "@fortnightly" }, "cron"},
		{"bad zone", func(c *Config) { c.TimeZone = "Mars/Olympus" }, "time_zone"},
		{"negative jitter", func(c *Config) { c.Jitter = -time.Second }, "jitter"},
		{"no workers", func(c *Config) { c.MaxConcurrent = 0 }, "max_concurrent"},
		{"zero backoff", func(c *Config) { c.BackoffMin = 0 }, "backoff_min"},
		{"max below min", func(c *Config) { c.BackoffMax = c.BackoffMin / 2 }, "backoff_max"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.edit(&c)
			err := c.Validate()
			switch {
			case tt.field == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.field != "" && (err == nil || !strings.HasPrefix(err.Error(), "schedule: "+tt.field+":")):
				t.Errorf("Validate() = %v, want an error naming %s", err, tt.field)
			}
		})
	}
}

func TestNewChecksDeps(t *testing.T) {
	agent := newFakeAgent(NewFakeClock(epoch0))
	cron := Default()
	cron.Cron = "@daily"
	tests := []struct {
		name string
		cfg  Config
		deps Deps
		ok   bool
	}{
		{"ok", Default(), Deps{Snapshotter: agent}, true},
		{"no snapshotter", Default(), Deps{Lister: agent}, false},
		{"cron without lister", cron, Deps{Snapshotter: agent}, false},
		{"cron with lister", cron, Deps{Snapshotter: agent, Lister: agent}, true},
		{"bad config", Config{}, Deps{Snapshotter: agent}, false},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg, tt.deps)
		if (err == nil) != tt.ok {
			t.Errorf("%s: New error %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestReasonString(t *testing.T) {
	tests := []struct {
		r    Reason
		want string
	}{
		{0, "none"},
		{ReasonEpoch, "epoch"},
		{ReasonCron | ReasonEpoch, "epoch+cron"},
		{ReasonBeforeRemove | ReasonRequest | ReasonRetry, "before-remove+request+retry"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("Reason(%d).String() = %q, want %q", uint8(tt.r), got, tt.want)
		}
	}
	if !(ReasonCron | ReasonRetry).Has(ReasonRetry) || ReasonCron.Has(ReasonRetry) {
		t.Errorf("Has is wrong")
	}
}

func TestPermanent(t *testing.T) {
	base := errors.New("gone")
	p := Permanent(base)
	if !IsPermanent(p) || !errors.Is(p, base) || p.Error() != "gone" {
		t.Errorf("Permanent(%v) = %v: IsPermanent %v, Is %v", base, p, IsPermanent(p), errors.Is(p, base))
	}
	if IsPermanent(base) || Permanent(nil) != nil {
		t.Errorf("IsPermanent(plain) or Permanent(nil) wrong")
	}
}
