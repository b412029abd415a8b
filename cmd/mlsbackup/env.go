package main

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/urfave/cli/v2"
)

// env is what a command that works on the configuration needs: the
// validated configuration (command-line overrides applied) and a logger.
type env struct {
	cfg *config.Config
	log *slog.Logger
}

// loadEnv reads the configuration named by --config (or MLSBACKUP_CONFIG),
// or the defaults, applies --data-dir, --log-level and --log-format, and
// validates the result. Errors name the field or flag at fault.
func (a *app) loadEnv(c *cli.Context) (*env, error) {
	if err := checkLogFlags(c); err != nil {
		return nil, err
	}
	cfg := config.Default()
	if path := c.String("config"); path != "" {
		var err error
		if cfg, err = config.Load(path); err != nil {
			return nil, err
		}
	}
	if d := c.String("data-dir"); d != "" {
		cfg.DataDir = d
	}
	if l := c.String("log-level"); l != "" {
		cfg.Log.Level = l
	}
	if f := c.String("log-format"); f != "" {
		cfg.Log.Format = f
	}
	if err := cfg.Validate(); err != nil {
		if path := c.String("config"); path != "" {
			return nil, fmt.Errorf("invalid configuration %s:\n%w", path, err)
		}
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	log := newLogger(a.st.err, cfg.Log)
	for _, d := range cfg.Deprecated() {
		log.Warn("configuration: " + d)
	}
	return &env{cfg: cfg, log: log}, nil
}

// checkLogFlags rejects bad --log-level and --log-format values as usage
// errors naming the flag.
func checkLogFlags(c *cli.Context) error {
	if l := c.String("log-level"); l != "" {
		if _, ok := parseLevel(l); !ok {
			return usagef("--log-level: %q is not one of debug, info, warn, error", l)
		}
	}
	if f := c.String("log-format"); f != "" && f != "text" && f != "json" {
		return usagef("--log-format: %q is not one of text, json", f)
	}
	return nil
}

// parseLevel maps a configured level name to its slog level.
func parseLevel(name string) (slog.Level, bool) {
	switch name {
	case "debug":
		return slog.LevelDebug, true
	case "info":
		return slog.LevelInfo, true
	case "warn":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	}
	return slog.LevelInfo, false
}

// newLogger builds the structured logger on w from a validated log section.
func newLogger(w io.Writer, l config.Log) *slog.Logger {
	level, _ := parseLevel(l.Level)
	return newLoggerLevel(w, l.Format, level)
}

// newLoggerLevel builds a logger whose level may be a [*slog.LevelVar],
// so that a reload can change it.
func newLoggerLevel(w io.Writer, format string, level slog.Leveler) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
