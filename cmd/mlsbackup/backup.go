package main

import "github.com/urfave/cli/v2"

const uploaderIssue = "issue 2 (the backup pipeline in uploader/)"

func (a *app) keygenCommand() *cli.Command {
	return &cli.Command{
		Name:  "keygen",
		Usage: "generate an age identity for backups; prints its public recipient",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "write the identity to `FILE` (mode 0600, never overwritten)"},
		},
		Action: func(*cli.Context) error { return notAvailable("generating age identities", uploaderIssue) },
	}
}

func (a *app) listCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the complete snapshots in the destination",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "group", Usage: "only the group with this hex `ID`"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: func(*cli.Context) error { return notAvailable("listing remote snapshots", uploaderIssue) },
	}
}

func (a *app) verifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "download, decrypt and check remote snapshots; exit 1 on any failure",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "group", Usage: "verify the snapshots of the group with this hex `ID`"},
			&cli.BoolFlag{Name: "all", Usage: "verify every snapshot (default: the newest of each group)"},
			&cli.StringFlag{Name: "identity", Usage: "age identity `FILE`; overrides encryption.identity_file"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: func(*cli.Context) error { return notAvailable("verifying remote snapshots", uploaderIssue) },
	}
}

func (a *app) pruneCommand() *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "delete remote snapshots that the retention rules no longer keep",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "print what would be deleted, delete nothing"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: func(*cli.Context) error { return notAvailable("pruning remote snapshots", uploaderIssue) },
	}
}

func (a *app) fetchCommand() *cli.Command {
	return &cli.Command{
		Name:      "fetch",
		Usage:     "download and decrypt one snapshot to a file (low level; restore imports it)",
		ArgsUsage: "--group ID [--epoch N] --out FILE",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "group", Usage: "the group's hex `ID`"},
			&cli.Uint64Flag{Name: "epoch", Usage: "the snapshot of epoch `N` (default: the newest)"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "write the plaintext snapshot to `FILE` (0600, never overwritten)"},
			&cli.StringFlag{Name: "identity", Usage: "age identity `FILE`; overrides encryption.identity_file"},
		},
		Action: func(*cli.Context) error { return notAvailable("fetching snapshots", uploaderIssue) },
	}
}

func (a *app) demoCommand() *cli.Command {
	return &cli.Command{
		Name:   "demo",
		Usage:  "show the backup pipeline end to end on a temporary local bucket",
		Action: func(*cli.Context) error { return notAvailable("the demo", uploaderIssue) },
	}
}
