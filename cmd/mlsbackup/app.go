package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

// streams are the process's standard streams, passed in so tests can
// capture them.
type streams struct {
	in  io.Reader
	out io.Writer
	err io.Writer
}

// run executes the command line args (args[0] is the program name) and
// returns the exit code. It never exits the process.
func run(ctx context.Context, args []string, st streams) int {
	a := &app{st: st}
	c := a.cli()
	err := c.RunContext(ctx, interspersed(c, args))
	if err != nil {
		fmt.Fprintf(st.err, "mlsbackup: %v\n", err)
		if u, ok := err.(*usageError); ok && !strings.Contains(u.msg, "--help") {
			fmt.Fprintln(st.err, "Run 'mlsbackup --help' for usage.")
		}
	}
	return exitCode(err)
}

// app holds what one invocation shares between its commands; nothing here
// outlives run.
type app struct {
	st streams
	// fs is the file system of the agent's data directory (nil: dataFS);
	// tests put a full disk there.
	fs fsx.FS
}

func (a *app) cli() *cli.App {
	c := &cli.App{
		Name:      "mlsbackup",
		UsageText: "mlsbackup [global options] command [command options] [arguments...]",
		Usage:     "keep MLS group state crash-safe and backed up, encrypted, to S3 or a directory",
		Description: "mlsbackup is an agent that runs MLS (RFC 9420) groups for an application, persists\n" +
			"every state transition through a write-ahead log, snapshots groups, encrypts the\n" +
			"snapshots with age and uploads them to S3-compatible storage; restore brings them back.\n\n" +
			"Exit codes: 0 success, 1 failure, 2 a usage error. Errors go to stderr; with --json a\n" +
			"command that fails before printing its result prints {\"error\": MESSAGE, \"code\": CODE}\n" +
			"on stdout (the agent API's error shape and codes).\n\n" +
			"Try it: mlsbackup demo",
		Version:              version(),
		Writer:               a.st.out,
		ErrWriter:            a.st.err,
		Reader:               a.st.in,
		EnableBashCompletion: true,
		Suggest:              true,
		// Commands return errors; run maps them to exit codes. Without this
		// urfave/cli would call os.Exit itself.
		ExitErrHandler: func(*cli.Context, error) {},
		Flags:          globalFlags(),
		Action:         parentAction,
		Commands: []*cli.Command{
			a.demoCommand(),
			a.agentCommand(),
			a.groupCommand(),
			a.outboxCommand(),
			a.snapshotCommand(),
			a.restoreCommand(),
			a.keygenCommand(),
			a.listCommand(),
			a.verifyCommand(),
			a.pruneCommand(),
			a.fetchCommand(),
			a.copyCommand(),
			a.rekeyCommand(),
			a.walCommand(),
			a.configCommand(),
			a.checkCommand(),
			a.completionCommand(),
			a.manCommand(),
		},
	}
	c.OnUsageError = onUsageError
	for _, cmd := range c.Commands {
		setUsageHandlers(cmd)
		a.jsonErrors(cmd)
	}
	return c
}

func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{
			Name:    "config",
			Aliases: []string{"c"},
			Usage:   "read the configuration from `FILE` (default: built-in defaults, no file needed)",
			EnvVars: []string{"MLSBACKUP_CONFIG"},
		},
		&cli.StringFlag{
			Name:  "data-dir",
			Usage: "local state directory `DIR`; overrides data_dir from the configuration (default ./mlsbackup-data)",
		},
		&cli.StringFlag{
			Name:  "log-level",
			Usage: "log `LEVEL`: debug, info, warn or error; overrides log.level (default info)",
		},
		&cli.StringFlag{
			Name:  "log-format",
			Usage: "log `FORMAT` on stderr: text or json; overrides log.format (default text)",
		},
	}
}

// onUsageError turns a flag-parsing failure into a [usageError].
func onUsageError(c *cli.Context, err error, _ bool) error {
	return usagef("%v (see '%s --help')", err, helpName(c))
}

func setUsageHandlers(cmd *cli.Command) {
	cmd.OnUsageError = onUsageError
	if cmd.Action == nil {
		cmd.Action = parentAction
	}
	for _, sub := range cmd.Subcommands {
		setUsageHandlers(sub)
	}
}

// parentAction runs when a command that only groups subcommands (or the
// program itself) is called without a known subcommand.
func parentAction(c *cli.Context) error {
	name := helpName(c)
	if c.Args().Present() {
		return usagef("unknown command %q for %s (see '%s --help')", c.Args().First(), name, name)
	}
	if c.Lineage()[1] == nil {
		_ = cli.ShowAppHelp(c)
	} else {
		_ = cli.ShowSubcommandHelp(c)
	}
	return usagef("%s needs a command (see '%s --help')", name, name)
}

// helpName is the command's full name for messages, e.g. "mlsbackup group".
func helpName(c *cli.Context) string {
	if c.Command == nil || c.Command.HelpName == "" {
		return "mlsbackup"
	}
	return c.Command.HelpName
}

// version reports the module version and Go version of this build.
func version() string {
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	return fmt.Sprintf("%s %s %s/%s", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// positional checks the number of positional arguments.
func positional(c *cli.Context, min, max int, names string) error {
	n := c.Args().Len()
	if n < min || (max >= 0 && n > max) {
		return usagef("usage: %s %s (see '%s --help')", c.Command.HelpName, names, c.Command.HelpName)
	}
	return nil
}
