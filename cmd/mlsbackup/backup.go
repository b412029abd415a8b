package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mlsbackup/mlsbackup/internal/restore"
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
			if listErr != nil && len(ms) == 0 {
				// Nothing read: no "no snapshots", no [] (issue 15).
				return fmt.Errorf("list %s: %w", b, listErr)
			}
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
		Usage: "check remote snapshots as restore would; exit 1 on any failure",
		Description: "Makes every check restore makes, without importing anything: each manifest's\n" +
			"signature by a trusted signer and that it names its own location; the snapshot\n" +
			"downloads, decrypts, and matches the sizes and SHA-256 of the signed manifest;\n" +
			"it is a group snapshot of the manifest's group id, epoch and epoch\n" +
			"authenticator; the newest head verifies and no snapshot it names, nor head a\n" +
			"snapshot names, is missing. With --group ID or --all also each group's chain\n" +
			"(every snapshot names its predecessor: none was deleted).\n" +
			"By default the newest snapshot of every group (what restore --all restores);\n" +
			"--group ID every snapshot of one group; --all every snapshot; --object KEY one\n" +
			"object (a manifest, snapshot.json or a head, its key as list --json prints it or\n" +
			"relative to the prefix), printing its signer and payload digest. --json says for\n" +
			"each object which checks passed and which one failed. Nothing is written locally.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "group", Usage: "verify every snapshot of the group with this hex `ID`"},
			&cli.BoolFlag{Name: "all", Usage: "verify every snapshot of every group"},
			&cli.StringFlag{Name: "object", Usage: "verify the one object under `KEY`"},
			&cli.StringFlag{Name: "identity", Usage: "age identity `FILE`; overrides encryption.identity_file"},
			allowUnsignedFlag(),
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: a.runVerify,
	}
}

func (a *app) runVerify(c *cli.Context) error {
	if err := positional(c, 0, 0, "[--group ID | --all | --object KEY] [--identity FILE] [--json]"); err != nil {
		return err
	}
	group, err := groupFlag(c)
	if err != nil {
		return err
	}
	n := 0
	for _, set := range []bool{group != nil, c.Bool("all"), c.String("object") != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return usagef("--group, --all and --object exclude each other")
	}
	e, err := a.loadEnv(c)
	if err != nil {
		return err
	}
	b, err := a.openBackup(c.Context, e, backupNeeds{identities: true, identity: c.String("identity"), allowUnsigned: c.Bool("allow-unsigned"), ownProgress: c.Bool("all")})
	if err != nil {
		return err
	}
	asJSON := c.Bool("json")
	if key := c.String("object"); key != "" {
		return a.verifyObject(c, b, objectKey(e.cfg.Destination.Prefix, key), asJSON)
	}
	p := a.newProgress(c.Context, c.Bool("all"), "verify", "snapshots")
	rep, err := restore.Verify(c.Context, b, restore.VerifyRequest{Group: group, All: c.Bool("all"), Progress: p.Update})
	p.Done()
	if err != nil {
		return fmt.Errorf("verify %s: %w", b, err)
	}
	if asJSON {
		if err := writeJSON(a.st.out, checkViews(rep.Objects)); err != nil {
			return err
		}
	} else {
		printHead(a.st.out, rep.Head)
		for _, o := range rep.Objects {
			printVerify(a.st.out, o)
		}
	}
	var failures []error
	for _, o := range rep.Objects {
		if !o.OK() {
			failures = append(failures, o.Err)
		}
	}
	switch {
	case len(failures) > 0:
		return fmt.Errorf("verify: %d of %d objects failed:\n%w", len(failures), len(rep.Objects), errors.Join(failures...))
	case len(rep.Objects) == 0 && group != nil:
		return fmt.Errorf("verify: %w of group %x in %s", uploader.ErrNoSnapshot, group, b)
	case len(rep.Objects) == 0:
		fmt.Fprintf(a.st.err, "no snapshots in %s\n", b)
	case !asJSON:
		fmt.Fprintf(a.st.out, "%d snapshots verified\n", len(rep.Objects))
	}
	return nil
}

// verifyObject verifies one object and prints what a check by hand
// needs: its signer and payload digest.
func (a *app) verifyObject(c *cli.Context, b *uploader.Backup, key string, asJSON bool) error {
	r := restore.VerifyObject(c.Context, b, key)
	if asJSON {
		if err := writeJSON(a.st.out, checkViews([]restore.ObjectResult{r})); err != nil {
			return err
		}
	} else {
		printVerify(a.st.out, r)
		if m := r.Manifest; m != nil && m.Signed() {
			fmt.Fprintf(a.st.out, "      signer %s, sequence %d, payload sha256 %x\n", m.Signer, m.Sequence, m.PayloadSHA256)
		}
		fmt.Fprintf(a.st.out, "      checks passed: %s\n", checkNames(r.Passed))
	}
	if !r.OK() {
		return fmt.Errorf("verify: %w", r.Err)
	}
	return nil
}

// objectKey returns key as a full object key: as given if it starts with
// the prefix, else relative to it.
func objectKey(prefix, key string) string {
	prefix = strings.Trim(prefix, "/")
	if prefix == "" || strings.HasPrefix(key, prefix+"/") {
		return key
	}
	return prefix + "/" + strings.TrimPrefix(key, "/")
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
			if pruneErr != nil && pruneEmpty(rep) {
				return fmt.Errorf("prune %s: %w", b, pruneErr)
			}
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
			if err := refuseExisting("fetch", out); err != nil {
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
