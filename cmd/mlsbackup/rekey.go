package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/mlsbackup/mlsbackup/internal/agent"
	"github.com/mlsbackup/mlsbackup/internal/migrate"
	"github.com/mlsbackup/mlsbackup/uploader"
)

func (a *app) rekeyCommand() *cli.Command {
	return &cli.Command{
		Name:  "rekey",
		Usage: "re-encrypt existing snapshots to new recipients, then retire the old ones",
		Description: "For an identity that is lost or must be retired: every snapshot that the old\n" +
			"identity (--identity OLD) decrypts is decrypted and uploaded again, encrypted to\n" +
			"the recipients of --to-recipients FILE, as a new snapshot of the same group and\n" +
			"epoch (created one nanosecond after the original), signed with the configured\n" +
			"signing key. Each replacement is read back and checked (signature, plaintext\n" +
			"digest equal to the original's, size and SHA-256 of its age file); then a head is\n" +
			"written naming them, and only then are the originals deleted, oldest first.\n" +
			"Snapshots the old identity cannot decrypt are left as they are. A rerun after an\n" +
			"interruption finds the replacements already written and finishes. The prefix's\n" +
			"lease is taken as \"<agent id>+rekey\" and released at the end: a running agent\n" +
			"makes rekey fail unless --take-over (stop it first). Give the agent the new\n" +
			"recipients before, destroy the old identity after: see docs/rotation.md.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "identity", Usage: "the old age identity `FILE`, which decrypts the snapshots to rekey"},
			&cli.StringFlag{Name: "to-recipients", Usage: "re-encrypt to the recipients in `FILE` (one per line, as encryption.recipients_file)"},
			&cli.BoolFlag{Name: "take-over", Usage: "take the prefix's lease from the agent that holds it"},
		},
		Action: a.runRekey,
	}
}

func (a *app) runRekey(c *cli.Context) error {
	if err := positional(c, 0, 0, "--identity OLD --to-recipients FILE [--take-over]"); err != nil {
		return err
	}
	old, to := c.String("identity"), c.String("to-recipients")
	if old == "" || to == "" {
		return usagef("rekey needs --identity OLD and --to-recipients FILE")
	}
	e, err := a.loadEnv(c)
	if err != nil {
		return err
	}
	ids, signers, err := uploader.ReadIdentityFile(old)
	if err != nil {
		return err
	}
	rcp, err := uploader.ReadRecipientsFile(to)
	if err != nil {
		return err
	}
	if err := migrate.CheckRecipients(rcp, ids); errors.Is(err, migrate.ErrSameRecipients) {
		return fmt.Errorf("rekey: %s includes the recipient of %s: a rekey would not retire that identity", to, old)
	} else if err != nil {
		return fmt.Errorf("rekey: %w", err)
	}
	key, err := agent.LoadSigningKey(e.cfg, os.LookupEnv)
	switch {
	case err != nil:
		return err
	case key == nil:
		return errors.New("rekey: no signing key: set encryption.signing_key_file or MLSBACKUP_SIGNING_KEY (the agent's key: the replacements continue its chain)")
	}
	trusted, err := uploader.ParseSigners(e.cfg.Encryption.TrustedSigners)
	if err != nil {
		return fmt.Errorf("encryption.trusted_signers: %w", err)
	}
	store, err := openStore(c.Context, e.cfg, false)
	if err != nil {
		return err
	}
	b, err := uploader.New(store, uploader.Options{Prefix: e.cfg.Destination.Prefix, InlineMax: e.cfg.Destination.InlineMax,
		AgentID: migrate.LeaseID(agentID(e.cfg), "rekey"), Recipients: rcp, Identities: ids, SigningKey: key,
		TrustedSigners: append(trusted, signers...), TakeOver: c.Bool("take-over"), Logger: e.log})
	if err != nil {
		return err
	}
	prog, done := a.migrateProgress(c.Context, "rekey")
	rep, err := migrate.Rekey(c.Context, b, migrate.RekeyOptions{Progress: prog})
	done()
	if rep != nil {
		fmt.Fprintf(a.st.out, "rekeyed %d snapshots in %s, retired %d originals, left %d the old identity cannot read\n",
			len(rep.Rekeyed), b, len(rep.Retired), len(rep.Unreadable))
	}
	if err != nil {
		return err
	}
	if err := rep.Err(); err != nil {
		return fmt.Errorf("rekey: %w", err)
	}
	return nil
}
