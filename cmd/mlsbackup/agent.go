package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/mlsbackup/mlsbackup/internal/agent"
)

func (a *app) agentCommand() *cli.Command {
	return &cli.Command{
		Name:  "agent",
		Usage: "run the background agent: MLS groups, local API, scheduled encrypted snapshots",
		Description: "Opens the data directory (taking its lock and recovering the write-ahead log),\n" +
			"serves the local HTTP/JSON API on <data_dir>/agent.sock (and optionally on\n" +
			"agent.tcp_listen with a bearer token), takes snapshots every snapshot.every_epochs\n" +
			"epochs, on snapshot.cron and before member removals, encrypts them to the\n" +
			"configured age recipients, signs them with its signing key\n" +
			"(encryption.signing_key_file or MLSBACKUP_SIGNING_KEY; it does not start without\n" +
			"one) and uploads them to the destination. SIGTERM stops it\n" +
			"cleanly (exit 0, also when a full disk fails the final checkpoint: the write-ahead\n" +
			"log keeps everything acknowledged); SIGHUP reloads the schedule, retention and log level from\n" +
			"the configuration. While the data directory cannot be written (a full disk), GET\n" +
			"/healthz answers 503 and the agent retries until writes succeed again. At start it\n" +
			"checks the destination as 'mlsbackup check' does; while that fails it keeps serving\n" +
			"MLS (a backup outage must not stop messaging), GET /healthz answers 200 \"degraded\"\n" +
			"with the failed check and its cause, and it checks again with backoff.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "client-name", Usage: "this agent's MLS client `NAME` (its basic credential's identity); overrides client_name from the configuration"},
			// --identity is the old name of --client-name; elsewhere
			// --identity is an age identity file.
			&cli.StringFlag{Name: "identity", Hidden: true, Usage: "deprecated: use --client-name"},
			&cli.BoolFlag{Name: "take-over", Usage: "take the destination prefix's lease from another agent (after replacing a machine)"},
		},
		Action: a.runAgent,
	}
}

func (a *app) runAgent(c *cli.Context) error {
	if err := positional(c, 0, 0, "[--client-name NAME] [--take-over]"); err != nil {
		return err
	}
	e, err := a.loadAgentEnv(c)
	if err != nil {
		return err
	}
	level := new(slog.LevelVar)
	lv, _ := parseLevel(e.cfg.Log.Level)
	level.Set(lv)
	log := newLoggerLevel(a.st.err, e.cfg.Log.Format, level)
	if c.IsSet("identity") {
		log.Warn("agent --identity is deprecated: use --client-name (--identity names an age identity file in the other commands)")
	}

	// SIGTERM and SIGINT end the agent gracefully (exit 0) however the
	// command is invoked; main's handler does the same for other commands.
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGTERM, os.Interrupt)
	defer stop()
	store, err := openStore(ctx, e.cfg, true)
	if err != nil {
		return err
	}
	recipients, err := agent.Recipients(e.cfg)
	if err != nil {
		return err
	}
	key, err := agent.LoadSigningKey(e.cfg, os.LookupEnv)
	if err != nil {
		return err
	}
	fsys := a.fs
	if fsys == nil {
		fsys = dataFS()
	}
	ag, err := agent.Open(ctx, e.cfg, log, agent.Options{Store: store, Recipients: recipients, SigningKey: key, LogLevel: level, TakeOver: c.Bool("take-over"), FS: fsys})
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				a.reloadAgent(c, ag, log)
			}
		}
	}()
	return ag.Run(ctx)
}

// loadAgentEnv is [app.loadEnv] with the --client-name flag (or its
// deprecated alias --identity) applied.
func (a *app) loadAgentEnv(c *cli.Context) (*env, error) {
	name, err := clientName(c)
	if err != nil {
		return nil, err
	}
	e, err := a.loadEnv(c)
	if err != nil {
		return nil, err
	}
	if name != "" {
		e.cfg.ClientName = name
	}
	return e, nil
}

// reloadAgent rereads the configuration on SIGHUP and hands it to the
// agent; a bad file is logged and the running configuration kept.
func (a *app) reloadAgent(c *cli.Context, ag *agent.Agent, log *slog.Logger) {
	e, err := a.loadAgentEnv(c)
	if err != nil {
		log.Error("reload: configuration not applied", "err", err)
		return
	}
	if err := ag.Reload(e.cfg); err != nil {
		log.Error("reload failed", "err", err)
	}
	// Reload logs "configuration reloaded" itself, once.
}

func (a *app) snapshotCommand() *cli.Command {
	return &cli.Command{
		Name:        "snapshot",
		Usage:       "snapshot groups now, encrypt and upload them (through the running agent); inspect one",
		Subcommands: []*cli.Command{a.snapshotInspectCommand()},
		ArgsUsage:   "--group ID | --all",
		Description: "Asks the running agent to cut a snapshot of a group (or of every group) from a\n" +
			"consistent view, encrypt it to the configured age recipients and upload it. The\n" +
			"snapshot becomes visible to list and restore only when it is complete.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "group", Usage: "snapshot the group with this hex `ID`"},
			&cli.BoolFlag{Name: "all", Usage: "snapshot every group"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: func(c *cli.Context) error {
			if err := positional(c, 0, 0, "--group ID | --all"); err != nil {
				return err
			}
			group, err := groupFlag(c)
			if err != nil {
				return err
			}
			if (group == nil) == !c.Bool("all") {
				return usagef("give --group ID or --all (see 'mlsbackup snapshot --help')")
			}
			return a.withAgent(c, func(c *cli.Context, cl *agent.Client) (any, error) {
				return snapshotNow(c.Context, cl, group)
			})
		},
	}
}

// clientName is the agent's --client-name, or the deprecated --identity
// that it replaces; empty when neither is given.
func clientName(c *cli.Context) (string, error) {
	name, old := c.String("client-name"), c.String("identity")
	if name != "" && old != "" && name != old {
		return "", usagef("--client-name %q and the deprecated --identity %q disagree; give --client-name only", name, old)
	}
	if name == "" {
		name = old
	}
	return name, nil
}
