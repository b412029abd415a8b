package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func (a *app) configCommand() *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "check or show the effective configuration",
		Subcommands: []*cli.Command{
			{
				Name:  "check",
				Usage: "validate the configuration; exit 1 naming every field at fault",
				Action: func(c *cli.Context) error {
					if _, err := a.loadEnv(c); err != nil {
						return err
					}
					fmt.Fprintln(a.st.out, "configuration ok")
					return nil
				},
			},
			{
				Name:  "show",
				Usage: "print the effective configuration (defaults, file and flags merged; secrets redacted)",
				Action: func(c *cli.Context) error {
					e, err := a.loadEnv(c)
					if err != nil {
						return err
					}
					out, err := e.cfg.RedactedYAML()
					if err != nil {
						return err
					}
					_, err = a.st.out.Write(out)
					return err
				},
			},
		},
	}
}
