package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mlsbackup/mlsbackup/internal/agent"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// snapshotInspectCommand is `snapshot inspect`: what a snapshot holds,
// without a secret.
func (a *app) snapshotInspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show what a snapshot holds (members, epochs, sizes), never a secret",
		ArgsUsage: "FILE | --group ID [--epoch N]",
		Description: "Reads a snapshot FILE (from 'mlsbackup fetch' or 'mlsbackup group export'; an\n" +
			"age-encrypted one is decrypted with --identity), or downloads and decrypts the\n" +
			"group's newest snapshot (or that of --epoch) from the destination with the age\n" +
			"identity, verifies it as restore would and prints: format version, group id,\n" +
			"epoch, cipher suite, members (leaf, identity, signature key fingerprint), tree\n" +
			"hash, epoch authenticator, which epochs' secrets it carries, whether the\n" +
			"restored mark is set, and the size of each component.\n" +
			"For a group of the running agent, see 'mlsbackup group inspect ID'.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "group", Usage: "inspect the group with this hex `ID` from the destination"},
			&cli.Uint64Flag{Name: "epoch", Usage: "the snapshot of epoch `N` (default: the newest)"},
			&cli.StringFlag{Name: "identity", Usage: "age identity `FILE`; overrides encryption.identity_file (for FILE: decrypts an age-encrypted one)"},
			allowUnsignedFlag(),
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: a.runSnapshotInspect,
	}
}

func (a *app) runSnapshotInspect(c *cli.Context) error {
	if err := positional(c, 0, 1, "FILE | --group ID [--epoch N]"); err != nil {
		return err
	}
	group, err := groupFlag(c)
	if err != nil {
		return err
	}
	if (group == nil) == !c.Args().Present() {
		return usagef("give a snapshot FILE or --group ID, not both (see 'mlsbackup snapshot inspect --help')")
	}
	var data []byte
	if group == nil {
		if data, err = readSnapshotFile(c.Args().First(), c.String("identity")); err != nil {
			return fmt.Errorf("snapshot inspect: %w", err)
		}
	} else if data, err = a.downloadSnapshot(c, group); err != nil {
		return err
	}
	rep, err := agent.NewInspectReport(c.Context, data)
	clear(data)
	if err != nil {
		return fmt.Errorf("snapshot inspect: %w", err)
	}
	if c.Bool("json") {
		return writeJSON(a.st.out, rep)
	}
	printInspect(a.st.out, rep)
	return nil
}

// downloadSnapshot fetches and decrypts the group's newest snapshot (or
// that of --epoch) into memory, checked like fetch.
func (a *app) downloadSnapshot(c *cli.Context, group []byte) ([]byte, error) {
	e, err := a.loadEnv(c)
	if err != nil {
		return nil, err
	}
	b, err := a.openBackup(c.Context, e, backupNeeds{identities: true, identity: c.String("identity"), allowUnsigned: c.Bool("allow-unsigned")})
	if err != nil {
		return nil, err
	}
	ms, listErr := b.List(c.Context, group)
	var m uploader.Manifest
	if c.IsSet("epoch") {
		m, err = uploader.SelectEpoch(ms, group, c.Uint64("epoch"))
	} else {
		m, err = uploader.Latest(ms, group)
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("snapshot inspect from %s: %w", b, err), listErr)
	}
	var buf bytes.Buffer
	if err := b.Fetch(c.Context, m, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// printInspect prints an inspection for a person.
func printInspect(w io.Writer, r agent.InspectReport) {
	fmt.Fprintf(w, "format_version: %d\ngroup_id: %s\nepoch: %d\ncipher_suite: %d\nown_index: %d\n", r.FormatVersion, r.GroupID, r.Epoch, r.CipherSuite, r.OwnIndex)
	fmt.Fprintf(w, "tree_hash: %s\nepoch_authenticator: %s\nrestored: %v\n", r.TreeHash, r.EpochAuthenticator, r.Restored)
	var epochs []string
	for _, e := range r.SecretEpochs {
		epochs = append(epochs, fmt.Sprint(e))
	}
	fmt.Fprintf(w, "secrets of epochs: %s\n", strings.Join(epochs, " "))
	fmt.Fprintf(w, "size: %d bytes, sha256 %s\nmembers:\n", r.Size, r.SHA256)
	for _, m := range r.Members {
		fmt.Fprintf(w, "  %d  %s  key sha256 %s\n", m.Index, m.Identity, m.SignatureKeySHA256)
	}
	fmt.Fprintln(w, "components:")
	for _, c := range r.Components {
		fmt.Fprintf(w, "  %s/%s  %d bytes\n", c.Kind, c.Name, c.Size)
	}
}

func groupExporter(c *cli.Context, cl *agent.Client) (any, error) {
	id, err := groupArg(c)
	if err != nil {
		return nil, err
	}
	if !c.IsSet("label") || !c.IsSet("length") {
		return nil, usagef("--label and --length are required (see 'mlsbackup group exporter --help')")
	}
	req := agent.ExporterRequest{Label: c.String("label"), Length: c.Int("length")}
	switch {
	case c.IsSet("context") && c.IsSet("context-text"):
		return nil, usagef("give --context or --context-text, not both")
	case c.IsSet("context"):
		if req.Context, err = base64.StdEncoding.DecodeString(c.String("context")); err != nil {
			return nil, usagef("--context: not base64: %v", err)
		}
	case c.IsSet("context-text"):
		req.Context = []byte(c.String("context-text"))
	}
	return cl.Exporter(c.Context, id, req)
}

func groupInspect(c *cli.Context, cl *agent.Client) (any, error) {
	id, err := groupArg(c)
	if err != nil {
		return nil, err
	}
	return cl.Inspect(c.Context, id)
}
