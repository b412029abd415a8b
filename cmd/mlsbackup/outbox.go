package main

import (
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mlsbackup/mlsbackup/internal/agent"
)

func (a *app) outboxCommand() *cli.Command {
	jsonFlag := &cli.BoolFlag{Name: "json", Usage: "print JSON"}
	return &cli.Command{
		Name:  "outbox",
		Usage: "list and acknowledge the answers the agent keeps until the application has them",
		Description: "Every call that changes a group (send, receive, commit, join, key package) stores\n" +
			"its answer in the same atomic step as the change, so a crash between the change\n" +
			"and the answer loses nothing. The answers stay in the agent's outbox until they\n" +
			"are acknowledged (or agent.outbox_keep drops them): after a crash, list them,\n" +
			"deliver the commits and messages that were not delivered, then acknowledge them.\n" +
			"Received plaintexts are among them: acknowledge them once consumed.",
		Subcommands: []*cli.Command{
			{
				Name:      "list",
				Usage:     "list unacknowledged answers, oldest first",
				ArgsUsage: "[--after ID] [--limit N]",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "after", Usage: "list the entries after this `ID`"},
					&cli.IntFlag{Name: "limit", Usage: fmt.Sprintf("at most `N` entries (1 to %d)", agent.MaxOutboxLimit), Value: agent.DefaultOutboxLimit},
					jsonFlag,
				},
				Action: func(c *cli.Context) error {
					if err := positional(c, 0, 0, "[--after ID] [--limit N]"); err != nil {
						return err
					}
					if n := c.Int("limit"); n < 1 || n > agent.MaxOutboxLimit {
						return usagef("--limit %d is not from 1 to %d", n, agent.MaxOutboxLimit)
					}
					return a.withAgent(c, func(c *cli.Context, cl *agent.Client) (any, error) {
						return cl.Outbox(c.Context, c.String("after"), c.Int("limit"))
					})
				},
			},
			{
				Name:      "ack",
				Usage:     "acknowledge answers: the agent forgets them",
				ArgsUsage: "ID...",
				Flags:     []cli.Flag{jsonFlag},
				Action: func(c *cli.Context) error {
					if err := positional(c, 1, -1, "ID..."); err != nil {
						return err
					}
					return a.withAgent(c, func(c *cli.Context, cl *agent.Client) (any, error) {
						return cl.AckOutbox(c.Context, c.Args().Slice()...)
					})
				},
			},
		},
	}
}

// printOutbox prints an outbox listing for a person: one line per entry.
func printOutbox(w io.Writer, l agent.OutboxList) {
	if len(l.Entries) == 0 {
		fmt.Fprintln(w, "the outbox is empty")
		return
	}
	for _, e := range l.Entries {
		key := ""
		if e.IdempotencyKey != "" {
			key = "  key " + e.IdempotencyKey
		}
		fmt.Fprintf(w, "%s  %s  %-13s %s%s\n", e.ID, e.Created.Format(time.RFC3339), e.Op, e.GroupID, key)
	}
	if l.More {
		fmt.Fprintf(w, "more: list again with --after %s\n", l.Entries[len(l.Entries)-1].ID)
	}
	fmt.Fprintln(w, "(--json prints the stored answers)")
}
