package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"filippo.io/age"
	"filippo.io/age/armor"
	"github.com/urfave/cli/v2"

	"github.com/mlsbackup/mlsbackup/internal/agent"
	"github.com/mlsbackup/mlsbackup/internal/atomicfile"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// exportResult is what `group export` prints.
type exportResult struct {
	GroupID            string `json:"group_id"`
	Epoch              uint64 `json:"epoch"`
	EpochAuthenticator string `json:"epoch_authenticator"`
	Encrypted          bool   `json:"encrypted"`
	Size               int    `json:"size"`
	Out                string `json:"out"`
}

// importResult is what `group import` prints.
type importResult struct {
	GroupID            string `json:"group_id"`
	Epoch              uint64 `json:"epoch"`
	CipherSuite        uint16 `json:"cipher_suite"`
	EpochAuthenticator string `json:"epoch_authenticator"`
	SHA256             string `json:"sha256"`
	// Restored is always true: an imported member sends only after a
	// commit of its own (engine/restored.go).
	Restored bool `json:"restored"`
}

// restoredNote explains the restored mark wherever it is printed.
const restoredNote = "restored: true (sends are refused until this member merges a commit of its own: group update ID)"

// groupExport writes the snapshot the agent cuts of the group to a new
// file (mode 0600): the plaintext GroupSnapshot, or an age file to the
// recipients given.
func groupExport(c *cli.Context, cl *agent.Client) (any, error) {
	id, err := groupArg(c)
	if err != nil {
		return nil, err
	}
	out := c.String("out")
	if out == "" {
		return nil, usagef("--out FILE is required (see 'mlsbackup group export --help')")
	}
	recipients := c.StringSlice("recipient")
	for i, r := range recipients {
		// The value is not echoed: it may be a secret key given by mistake.
		if _, err := uploader.ParseRecipient(r); err != nil {
			return nil, usagef("--recipient (number %d): %v", i+1, err)
		}
	}
	if f := c.String("recipients-file"); f != "" {
		lines, err := uploader.ReadRecipientLines(f)
		if err != nil {
			return nil, fmt.Errorf("--recipients-file: %w", err)
		}
		recipients = append(recipients, lines...)
	}
	if err := refuseExisting("group export", out); err != nil {
		return nil, err
	}
	snap, err := cl.ExportSnapshot(c.Context, id, recipients...)
	if err != nil {
		return nil, err
	}
	defer clear(snap.Data)
	if len(recipients) > 0 && !snap.Encrypted {
		return nil, fmt.Errorf("group export: the agent answered a plaintext snapshot to a request for an encrypted one; nothing written")
	}
	if err := atomicfile.Create(fsx.OS{}, out, snap.Data, 0o600); err != nil {
		return nil, fmt.Errorf("group export: %w", err)
	}
	return exportResult{GroupID: hex.EncodeToString(id), Epoch: snap.Info.Epoch, EpochAuthenticator: hex.EncodeToString(snap.Info.EpochAuthenticator),
		Encrypted: snap.Encrypted, Size: len(snap.Data), Out: out}, nil
}

// groupImport gives the agent a snapshot file to store as its group's
// state (POST /v1/import), decrypting an age file with --identity first:
// the API takes the plaintext GroupSnapshot only.
func groupImport(c *cli.Context, cl *agent.Client) (any, error) {
	data, err := readSnapshotFile(c.Args().First(), c.String("identity"))
	if err != nil {
		return nil, fmt.Errorf("group import: %w", err)
	}
	defer clear(data)
	info, err := cl.Import(c.Context, data, c.Bool("replace"))
	if err != nil {
		return nil, err
	}
	return importResult{GroupID: hex.EncodeToString(info.GroupID), Epoch: info.Epoch, CipherSuite: info.CipherSuite,
		EpochAuthenticator: hex.EncodeToString(info.EpochAuthenticator), SHA256: hex.EncodeToString(info.SHA256), Restored: true}, nil
}

// ageHeader and armorHeader start an age file, binary or ASCII-armored.
var (
	ageHeader   = []byte("age-encryption.org/")
	armorHeader = []byte(armor.Header)
)

// readSnapshotFile reads a snapshot file: the plaintext GroupSnapshot as
// it is, or an age file (binary or armored, as `group export --recipient`
// or the age CLI write it) decrypted with the identities in identityFile.
func readSnapshotFile(path, identityFile string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	head, _ := br.Peek(len(armorHeader))
	if !bytes.HasPrefix(head, ageHeader) && !bytes.HasPrefix(head, armorHeader) {
		return io.ReadAll(br)
	}
	if identityFile == "" {
		return nil, usagef("%s is age-encrypted: give the age identity that decrypts it with --identity FILE", path)
	}
	ids, err := uploader.ReadIdentitiesFile(identityFile)
	if err != nil {
		return nil, err
	}
	var in io.Reader = br
	if bytes.HasPrefix(head, armorHeader) {
		in = armor.NewReader(br)
	}
	r, err := age.Decrypt(in, ids...)
	if err != nil {
		return nil, fmt.Errorf("decrypt %s: %w", path, err)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		clear(data)
		return nil, fmt.Errorf("decrypt %s: %w", path, err)
	}
	return data, nil
}

// printTransfer prints the answer of group export or import for a person;
// it reports false for any other answer.
func printTransfer(w io.Writer, res any) bool {
	switch r := res.(type) {
	case exportResult:
		fmt.Fprintf(w, "group_id: %s\nepoch: %d\nepoch_authenticator: %s\nencrypted: %v\nsize: %d\nout: %s\n",
			r.GroupID, r.Epoch, r.EpochAuthenticator, r.Encrypted, r.Size, r.Out)
	case importResult:
		fmt.Fprintf(w, "group_id: %s\nepoch: %d\ncipher_suite: %d\nepoch_authenticator: %s\nsha256: %s\n%s\n",
			r.GroupID, r.Epoch, r.CipherSuite, r.EpochAuthenticator, r.SHA256, restoredNote)
	default:
		return false
	}
	return true
}
