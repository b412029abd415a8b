package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// manCommand prints the man page generated from the command definitions
// (docs/mlsbackup.1 is its output, kept current by a test).
func (a *app) manCommand() *cli.Command {
	return &cli.Command{
		Name:        "man",
		Usage:       "print the man page (troff), generated from the commands' own help",
		Description: "mlsbackup man > mlsbackup.1; man ./mlsbackup.1 (docs/mlsbackup.1 is the same page)",
		Action: func(c *cli.Context) error {
			if err := positional(c, 0, 0, ""); err != nil {
				return err
			}
			page, err := c.App.ToMan()
			if err != nil {
				return fmt.Errorf("man: %w", err)
			}
			_, err = fmt.Fprint(a.st.out, page)
			return err
		},
	}
}
