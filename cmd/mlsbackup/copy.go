package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/mlsbackup/mlsbackup/internal/agent"
	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/internal/migrate"
	"github.com/mlsbackup/mlsbackup/uploader"
)

func (a *app) copyCommand() *cli.Command {
	return &cli.Command{
		Name:  "copy",
		Usage: "copy every complete snapshot to the destination of another configuration (migration)",
		Description: "Copies the snapshots of the configured destination that the destination of\n" +
			"--to CONFIG lacks (a directory to S3, a bucket to another bucket or prefix),\n" +
			"group by group, oldest first. Each age file is copied byte for byte and its\n" +
			"manifest re-signed with the target's signing key (its encryption.signing_key_file,\n" +
			"or MLSBACKUP_SIGNING_KEY if set) as the next link of the target's chain; a head\n" +
			"is written at the end. The source is checked first as verify checks it, without\n" +
			"decrypting (signatures, chains, head): a group that fails is not copied. Each\n" +
			"copy is read back and checked (signature, size and SHA-256; with --identity also\n" +
			"decrypted). A rerun copies only what is missing: an interrupted copy leaves only\n" +
			"orphan data objects, which it reuses. The source is never written to. The\n" +
			"target prefix's lease is taken as \"<agent id>+copy\" and released at the end: an\n" +
			"agent that holds it makes copy fail unless --take-over (stop it first).\n" +
			"Progress goes to stderr, one line per snapshot. See docs/rotation.md.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "to", Usage: "copy to the destination of the configuration `FILE`"},
			&cli.StringFlag{Name: "identity", Usage: "age identity `FILE`: decrypt each copy to check it, and trust the signers it names"},
			&cli.BoolFlag{Name: "take-over", Usage: "take the target prefix's lease from the agent that holds it"},
		},
		Action: a.runCopy,
	}
}

func (a *app) runCopy(c *cli.Context) error {
	if err := positional(c, 0, 0, "--to CONFIG [--identity FILE] [--take-over]"); err != nil {
		return err
	}
	to := c.String("to")
	if to == "" {
		return usagef("copy needs --to CONFIG, the configuration of the target destination")
	}
	e, err := a.loadEnv(c)
	if err != nil {
		return err
	}
	identity := c.String("identity")
	src, err := a.openBackup(c.Context, e, backupNeeds{signers: true, identity: identity, ownProgress: true})
	if err != nil {
		return err
	}
	tcfg, err := config.Load(to)
	if err == nil {
		err = tcfg.Validate()
	}
	if err != nil {
		return fmt.Errorf("--to %s: %w", to, err)
	}
	key, err := agent.LoadSigningKey(tcfg, os.LookupEnv)
	switch {
	case err != nil:
		return fmt.Errorf("--to %s: %w", to, err)
	case key == nil:
		return fmt.Errorf("--to %s: no signing key: set encryption.signing_key_file (the target's agent key) or MLSBACKUP_SIGNING_KEY", to)
	}
	trusted, err := uploader.ParseSigners(tcfg.Encryption.TrustedSigners)
	if err != nil {
		return fmt.Errorf("--to %s: encryption.trusted_signers: %w", to, err)
	}
	opts := uploader.Options{Prefix: tcfg.Destination.Prefix, InlineMax: tcfg.Destination.InlineMax,
		AgentID: migrate.LeaseID(agentID(tcfg), "copy"), SigningKey: key, TrustedSigners: trusted,
		TakeOver: c.Bool("take-over"), Logger: e.log}
	if identity != "" {
		if opts.Identities, _, err = uploader.ReadIdentityFile(identity); err != nil {
			return err
		}
	}
	store, err := openStore(c.Context, tcfg, true)
	if err != nil {
		return fmt.Errorf("--to %s: %w", to, err)
	}
	dst, err := uploader.New(store, opts)
	if err != nil {
		return err
	}
	prog, done := a.migrateProgress(c.Context, "copy")
	rep, err := migrate.Copy(c.Context, src, dst, migrate.CopyOptions{Decrypt: identity != "", Progress: prog})
	done()
	if rep != nil {
		fmt.Fprintf(a.st.out, "copied %d snapshots to %s, %d were there already, %d not copied\n",
			len(rep.Copied), dst, len(rep.Present), len(rep.Behind)+len(rep.Failed))
	}
	if err != nil {
		return err
	}
	if err := rep.Err(); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	return nil
}
