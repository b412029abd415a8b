package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/uploader"
)

func (a *app) keygenCommand() *cli.Command {
	return &cli.Command{
		Name:  "keygen",
		Usage: "generate an age identity for backups; prints its public recipient",
		Description: "Writes a new age X25519 identity in age-keygen's format and prints its recipient\n" +
			"(age1…) on stdout: put the recipient in encryption.recipients (the agent needs\n" +
			"only that) and keep the identity file off the agent's machine; it is needed only\n" +
			"to verify, fetch and restore. Without --out the identity goes to stdout and the\n" +
			"recipient to stderr, as age-keygen does.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "write the identity to `FILE` (mode 0600, never overwritten)"},
		},
		Action: func(c *cli.Context) error {
			if err := positional(c, 0, 0, "[--out FILE]"); err != nil {
				return err
			}
			now := time.Now()
			if out := c.String("out"); out != "" {
				recipient, err := uploader.GenerateIdentity(fsx.OS{}, out, now)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(a.st.out, recipient)
				return err
			}
			content, recipient, err := uploader.NewIdentityFile(now)
			if err != nil {
				return err
			}
			if _, err := a.st.out.Write(content); err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.st.err, "Public key: %s\n", recipient)
			return err
		},
	}
}
