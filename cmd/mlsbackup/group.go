package main

import "github.com/urfave/cli/v2"

// groupIssue says where the group commands come from.
const groupIssue = "issue 5 (the CLI as the agent API's client), which needs the MLS engine (issue 3)"

func (a *app) groupCommand() *cli.Command {
	noMerge := func() cli.Flag {
		return &cli.BoolFlag{Name: "no-merge", Usage: "leave the commit pending instead of merging it at once"}
	}
	sub := func(name, args, usage, what string, flags ...cli.Flag) *cli.Command {
		return &cli.Command{
			Name:      name,
			ArgsUsage: args,
			Usage:     usage,
			Flags:     append(flags, &cli.BoolFlag{Name: "json", Usage: "print JSON (messages as base64, hashes in hex)"}),
			Action: func(*cli.Context) error {
				return notAvailable(what, groupIssue)
			},
		}
	}
	return &cli.Command{
		Name:  "group",
		Usage: "drive MLS groups through the running agent (key packages, members, messages) [issue 5]",
		Description: "Each subcommand is a client of the agent's local API on <data_dir>/agent.sock.\n" +
			"Messages travel as base64 of the TLS-encoded MLSMessage; the caller delivers them.\n\n" +
			"Not available yet: arrives with issue 5.",
		Subcommands: []*cli.Command{
			sub("keypackage", "", "create a KeyPackage others can add this member with", "creating KeyPackages"),
			sub("create", "ID", "create a new group with this member as its only member", "creating groups"),
			sub("add", "ID --key-package B64", "commit adding a member; prints the commit and the Welcome", "adding members",
				&cli.StringSliceFlag{Name: "key-package", Usage: "the new member's KeyPackage as `B64` (repeatable)"}, noMerge()),
			sub("remove", "ID --member IDENTITY", "commit removing a member (snapshotted first when snapshot.before_remove)", "removing members",
				&cli.StringSliceFlag{Name: "member", Usage: "the member's `IDENTITY` (repeatable)"}, noMerge()),
			sub("update", "ID", "commit a self-update with a fresh leaf key (a new epoch)", "self-updates", noMerge()),
			sub("merge", "ID", "merge this member's pending commit (or --clear it)", "merging pending commits",
				&cli.BoolFlag{Name: "clear", Usage: "discard the pending commit instead"}),
			sub("send", "ID --data TEXT", "encrypt an application message; prints the PrivateMessage", "sending messages",
				&cli.StringFlag{Name: "data", Usage: "the message `TEXT`"}),
			sub("receive", "--message B64", "process an incoming commit, proposal or application message", "receiving messages",
				&cli.StringFlag{Name: "message", Usage: "the MLSMessage as `B64`"}),
			sub("join", "--welcome B64 | --group-info B64", "join a group from a Welcome, or by external commit", "joining groups",
				&cli.StringFlag{Name: "welcome", Usage: "the Welcome as `B64`"},
				&cli.StringFlag{Name: "group-info", Usage: "join by external commit from this GroupInfo `B64`"}),
			sub("info", "ID", "show a group's epoch, members and epoch authenticator", "group info"),
			sub("list", "", "list the groups this member is in", "listing groups"),
		},
	}
}
