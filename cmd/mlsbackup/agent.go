package main

import "github.com/urfave/cli/v2"

func (a *app) agentCommand() *cli.Command {
	return &cli.Command{
		Name:  "agent",
		Usage: "run the background agent: MLS groups, local API, scheduled encrypted snapshots [issue 5]",
		Description: "Opens the data directory (taking its lock and recovering the write-ahead log),\n" +
			"serves the local HTTP/JSON API on <data_dir>/agent.sock (and optionally on\n" +
			"agent.tcp_listen with a bearer token), takes snapshots every snapshot.every_epochs\n" +
			"epochs, on snapshot.cron and before member removals, encrypts them to the\n" +
			"configured age recipients and uploads them to the destination. SIGTERM stops it\n" +
			"cleanly; SIGHUP reloads the configuration.\n\n" +
			"Not available yet: arrives with issue 5.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "identity", Usage: "this agent's MLS client `IDENTITY`; overrides identity from the configuration"},
		},
		Action: func(*cli.Context) error {
			return notAvailable("the agent (local API, scheduled snapshots)", "issue 5 (the agent), on top of the MLS engine (issue 3) and the durable store (issue 4)")
		},
	}
}

func (a *app) snapshotCommand() *cli.Command {
	return &cli.Command{
		Name:      "snapshot",
		Usage:     "snapshot groups now, encrypt and upload them [issue 5]",
		ArgsUsage: "[--group ID | --all]",
		Description: "Asks the running agent (or, without one, the data directory directly) to cut a\n" +
			"snapshot of a group from a consistent view, encrypt it to the configured age\n" +
			"recipients and upload it. The snapshot becomes visible to list and restore only\n" +
			"when it is complete.\n\n" +
			"Not available yet: arrives with issue 5.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "group", Usage: "snapshot the group with this hex `ID`"},
			&cli.BoolFlag{Name: "all", Usage: "snapshot every group"},
		},
		Action: func(*cli.Context) error {
			return notAvailable("taking snapshots of MLS groups", "issue 5 (the agent and scheduler), which needs the MLS engine (issue 3) and the durable store (issue 4)")
		},
	}
}

func (a *app) restoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "bring groups back from the backups after a lost disk or corrupted state [issue 5]",
		ArgsUsage: "--group ID [--latest | --epoch N | --before TIME] | --all",
		Description: "Lists the remote snapshots, downloads one, decrypts it with the age identity,\n" +
			"verifies its checksums, group id, epoch and epoch authenticator and imports it\n" +
			"into the data directory as one atomic step. It refuses to roll a group back to an\n" +
			"older epoch unless --force. The restored member does not encrypt in the restored\n" +
			"epoch: it first catches up on missed commits or moves to a fresh epoch (see the\n" +
			"README's restore runbook).\n\n" +
			"Not available yet: arrives with issue 5. Until then, fetch downloads, decrypts\n" +
			"and checks one snapshot into a file.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "group", Usage: "restore the group with this hex `ID`"},
			&cli.BoolFlag{Name: "all", Usage: "restore the latest snapshot of every group (lost disk)"},
			&cli.BoolFlag{Name: "latest", Usage: "restore the newest complete snapshot (also without --epoch and --before)"},
			&cli.Uint64Flag{Name: "epoch", Usage: "restore the snapshot of epoch `N`"},
			&cli.StringFlag{Name: "before", Usage: "restore the newest snapshot taken before `TIME` (RFC 3339)"},
			&cli.StringFlag{Name: "identity", Usage: "age identity `FILE`; overrides encryption.identity_file"},
			&cli.BoolFlag{Name: "dry-run", Usage: "show what would be restored, change nothing"},
			&cli.BoolFlag{Name: "force", Usage: "allow rolling a group back to an older epoch"},
		},
		Action: func(*cli.Context) error {
			return notAvailable("restoring MLS groups into the data directory (fetch already downloads and decrypts one snapshot)", "issue 5 (restore), which needs the MLS engine (issue 3) and the durable store (issue 4)")
		},
	}
}

func (a *app) walCommand() *cli.Command {
	return &cli.Command{
		Name:  "wal",
		Usage: "inspect and check the local write-ahead log [issue 4]",
		Description: "Reads the write-ahead log under <data_dir>/wal without changing it: lists\n" +
			"segments and records, reports a torn tail (which the agent repairs on start) and\n" +
			"refuses corruption in the middle with the file and offset.\n\n" +
			"Not available yet: arrives with issue 4.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: func(*cli.Context) error {
			return notAvailable("inspecting the write-ahead log", "issue 4 (wal/ and localstore/)")
		},
	}
}
