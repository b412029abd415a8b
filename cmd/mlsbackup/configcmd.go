package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/mlsbackup/mlsbackup/internal/agent"
	"github.com/mlsbackup/mlsbackup/internal/config"
)

func (a *app) configCommand() *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "check or show the effective configuration",
		Subcommands: []*cli.Command{
			{
				Name:  "check",
				Usage: "validate the configuration and this machine's part of it; exit 1 naming every field at fault",
				Description: "Checks the file (every key, every value) and, without the network, what the\n" +
					"agent needs of this machine: recipients present and parseable, the identity and\n" +
					"token files readable, the MLS credential's certificate chain and key and the x509\n" +
					"roots readable and matching, the data directory usable, the socket's directory safe,\n" +
					"and the signing key (encryption.signing_key_file or " + config.SigningKeyEnv + "), whose\n" +
					"public key (signer) it prints.",
				Action: func(c *cli.Context) error {
					e, err := a.loadEnv(c)
					if err != nil {
						return err
					}
					errs := agent.CheckLocal(e.cfg)
					key, err := agent.LoadSigningKey(e.cfg, os.LookupEnv)
					switch {
					case err != nil:
						errs = append(errs, err)
					case key == nil && !e.cfg.Encryption.AllowUnsigned:
						errs = append(errs, agent.ErrNoSigningKey)
					}
					if len(errs) > 0 {
						return fmt.Errorf("configuration not usable on this machine:\n%w", errors.Join(errs...))
					}
					fmt.Fprintln(a.st.out, "configuration ok")
					if key != nil {
						fmt.Fprintf(a.st.out, "signing key: %s\n", key.Public())
					} else {
						fmt.Fprintln(a.st.out, "no signing key: the agent uploads unsigned snapshots (encryption.allow_unsigned; insecure)")
					}
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
