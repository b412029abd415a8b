package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/mlsbackup/mlsbackup/uploader"
)

func (a *app) listCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the complete snapshots in the destination",
		Description: "Lists every snapshot whose manifest has been written (uploads in progress or\n" +
			"interrupted are not listed), sorted by group, epoch and time, after checking each\n" +
			"manifest's signature: it needs the trusted signers (encryption.trusted_signers, or\n" +
			"the identity file's trusted-signer lines), not the identity's secret key.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "group", Usage: "only the group with this hex `ID`"},
			&cli.StringFlag{Name: "identity", Usage: "trust the signers named in this age identity `FILE`; overrides encryption.identity_file"},
			allowUnsignedFlag(),
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: func(c *cli.Context) error {
			if err := positional(c, 0, 0, "[--group ID] [--json]"); err != nil {
				return err
			}
			group, err := groupFlag(c)
			if err != nil {
				return err
			}
			e, err := a.loadEnv(c)
			if err != nil {
				return err
			}
			b, err := a.openBackup(c.Context, e, backupNeeds{signers: true, identity: c.String("identity"), allowUnsigned: c.Bool("allow-unsigned")})
			if err != nil {
				return err
			}
			ms, listErr := b.List(c.Context, group)
			if c.Bool("json") {
				if err := writeJSON(a.st.out, manifestViews(ms)); err != nil {
					return err
				}
			} else {
				printManifests(a.st.out, b.String(), ms)
			}
			if listErr != nil {
				return fmt.Errorf("list %s: %w", b, listErr)
			}
			return nil
		},
	}
}

func (a *app) verifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "download, decrypt and check remote snapshots; exit 1 on any failure",
		Description: "Downloads each selected snapshot, decrypts it with the age identity and checks\n" +
			"the size and SHA-256 of both ciphertext and plaintext against its manifest.\n" +
			"By default the newest snapshot of every group; --group ID every snapshot of one\n" +
			"group; --all every snapshot. Nothing is written locally.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "group", Usage: "verify every snapshot of the group with this hex `ID`"},
			&cli.BoolFlag{Name: "all", Usage: "verify every snapshot of every group"},
			&cli.StringFlag{Name: "identity", Usage: "age identity `FILE`; overrides encryption.identity_file"},
			allowUnsignedFlag(),
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: func(c *cli.Context) error {
			if err := positional(c, 0, 0, "[--group ID | --all] [--identity FILE] [--json]"); err != nil {
				return err
			}
			group, err := groupFlag(c)
			if err != nil {
				return err
			}
			if group != nil && c.Bool("all") {
				return usagef("--group and --all exclude each other")
			}
			e, err := a.loadEnv(c)
			if err != nil {
				return err
			}
			b, err := a.openBackup(c.Context, e, backupNeeds{identities: true, identity: c.String("identity"), allowUnsigned: c.Bool("allow-unsigned")})
			if err != nil {
				return err
			}
			var ms []uploader.Manifest
			var listErr error
			if group != nil || c.Bool("all") {
				ms, listErr = b.List(c.Context, group)
			} else {
				ms, listErr = b.ListLatest(c.Context)
			}
			results := make([]verifyView, 0, len(ms))
			var failures []error
			for _, m := range ms {
				v := verifyView{manifestView: viewOf(m), OK: true}
				if err := b.Verify(c.Context, m); err != nil {
					v.OK, v.Error = false, err.Error()
					failures = append(failures, err)
				}
				results = append(results, v)
				if !c.Bool("json") {
					printVerify(a.st.out, v)
				}
			}
			if c.Bool("json") {
				if err := writeJSON(a.st.out, results); err != nil {
					return err
				}
			}
			var errs []error
			if listErr != nil {
				errs = append(errs, fmt.Errorf("list %s: %w", b, listErr))
			}
			if len(failures) > 0 {
				errs = append(errs, fmt.Errorf("verify: %d of %d snapshots failed:\n%w", len(failures), len(ms), errors.Join(failures...)))
			}
			if len(ms) == 0 && listErr == nil {
				if group != nil {
					return fmt.Errorf("verify: %w of group %x in %s", uploader.ErrNoSnapshot, group, b)
				}
				fmt.Fprintf(a.st.err, "no snapshots in %s\n", b)
			} else if len(failures) == 0 && listErr == nil && !c.Bool("json") {
				fmt.Fprintf(a.st.out, "%d snapshots verified\n", len(ms))
			}
			return errors.Join(errs...)
		},
	}
}

func (a *app) pruneCommand() *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "delete remote snapshots that the retention rules no longer keep",
		Description: "Keeps, per group, the newest retention.keep_last snapshots and every snapshot\n" +
			"younger than retention.keep_within, but deletes any older than retention.max_age\n" +
			"(if set); never deletes the newest complete snapshot of a group (the agent's own\n" +
			"retention does, past max_age, for a group it no longer holds). Also removes\n" +
			"orphans (data without a manifest) older than a day and, in a local directory,\n" +
			"temporary files that interrupted writes left and nobody wrote to for a day.\n" +
			"Deleting needs the prefix's lease: run it as the agent's identity, or --take-over.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "print what would be deleted, delete nothing"},
			&cli.BoolFlag{Name: "take-over", Usage: "take the prefix's lease from another agent (after replacing a machine)"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: func(c *cli.Context) error {
			if err := positional(c, 0, 0, "[--dry-run] [--json]"); err != nil {
				return err
			}
			e, err := a.loadEnv(c)
			if err != nil {
				return err
			}
			b, err := a.openBackup(c.Context, e, backupNeeds{takeOver: c.Bool("take-over")})
			if err != nil {
				return err
			}
			rep, pruneErr := b.Prune(c.Context, uploader.Retention{
				KeepLast:   e.cfg.Retention.KeepLast,
				KeepWithin: e.cfg.Retention.KeepWithin,
				MaxAge:     e.cfg.Retention.MaxAge,
			}, c.Bool("dry-run"))
			if c.Bool("json") {
				if err := writeJSON(a.st.out, pruneViewOf(rep)); err != nil {
					return err
				}
			} else {
				printPrune(a.st.out, rep)
			}
			if pruneErr != nil {
				return fmt.Errorf("prune %s: %w", b, pruneErr)
			}
			return nil
		},
	}
}

func (a *app) fetchCommand() *cli.Command {
	return &cli.Command{
		Name:      "fetch",
		Usage:     "download and decrypt one snapshot to a file (low level; restore imports it)",
		ArgsUsage: "--group ID [--epoch N] --out FILE",
		Description: "Downloads the newest snapshot of the group (or the one of --epoch), decrypts it\n" +
			"and checks it like verify, writing the plaintext to a new file (mode 0600) only\n" +
			"after every check passed: an existing file is never overwritten or damaged.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "group", Usage: "the group's hex `ID`"},
			&cli.Uint64Flag{Name: "epoch", Usage: "the snapshot of epoch `N` (default: the newest)"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "write the plaintext snapshot to `FILE` (0600, never overwritten)"},
			&cli.StringFlag{Name: "identity", Usage: "age identity `FILE`; overrides encryption.identity_file"},
			allowUnsignedFlag(),
		},
		Action: func(c *cli.Context) error {
			if err := positional(c, 0, 0, "--group ID [--epoch N] --out FILE"); err != nil {
				return err
			}
			group, err := groupFlag(c)
			if err != nil {
				return err
			}
			out := c.String("out")
			if group == nil || out == "" {
				return usagef("fetch needs --group ID and --out FILE (see 'mlsbackup fetch --help')")
			}
			if err := refuseExisting(out); err != nil {
				return err
			}
			e, err := a.loadEnv(c)
			if err != nil {
				return err
			}
			b, err := a.openBackup(c.Context, e, backupNeeds{identities: true, identity: c.String("identity"), allowUnsigned: c.Bool("allow-unsigned")})
			if err != nil {
				return err
			}
			ms, listErr := b.List(c.Context, group)
			var m uploader.Manifest
			if c.IsSet("epoch") {
				m, err = uploader.SelectEpoch(ms, group, c.Uint64("epoch"))
			} else {
				m, err = uploader.Latest(ms, group)
			}
			if err != nil {
				return errors.Join(fmt.Errorf("fetch from %s: %w", b, err), listErr)
			}
			if err := b.FetchFile(c.Context, m, out); err != nil {
				return err
			}
			fmt.Fprintf(a.st.out, "fetched %s (%d bytes, sha256 %x) to %s\n", m.Ref.String(), m.PlaintextSize, m.PlaintextSHA256, out)
			return nil
		},
	}
}

// allowUnsignedFlag is --allow-unsigned of the commands that read backups.
func allowUnsignedFlag() cli.Flag {
	return &cli.BoolFlag{Name: "allow-unsigned",
		Usage: "also accept unsigned snapshots of earlier versions (insecure: anyone who can write to the destination can plant one)"}
}
