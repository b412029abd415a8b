package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/uploader"
)

func (a *app) keygenCommand() *cli.Command {
	return &cli.Command{
		Name:  "keygen",
		Usage: "generate the backup keys: an age identity (kept offline) and the agent's signing key",
		Description: "Writes a new age X25519 identity in age-keygen's format (age -d -i reads it) and\n" +
			"a new Ed25519 signing key for the agent, and prints, labelled, the recipient\n" +
			"(age1…) and the signer (ed25519:…) on stdout.\n\n" +
			"The agent gets the recipient (encryption.recipients) and the signing key file\n" +
			"(encryption.signing_key_file, or its key line in MLSBACKUP_SIGNING_KEY): it\n" +
			"encrypts and signs every upload, and can neither decrypt a backup nor is it\n" +
			"needed to check one. The identity file stays off the agent's machine; it decrypts\n" +
			"for verify, fetch and restore, and names the signer in a \"# trusted-signer:\"\n" +
			"line, so that restore --identity FILE trusts exactly this agent's signatures.\n\n" +
			"--signing-key-out defaults to <out>.signing-key. Without --out the identity and\n" +
			"the signing key go to stdout and the public keys to stderr. No file is ever\n" +
			"overwritten; missing directories are created (mode 0700).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "write the identity to `FILE` (mode 0600, never overwritten)"},
			&cli.StringFlag{Name: "signing-key-out", Usage: "write the agent's signing key to `FILE` (mode 0600, never overwritten; default <out>.signing-key)"},
		},
		Action: func(c *cli.Context) error {
			if err := positional(c, 0, 0, "[--out FILE] [--signing-key-out FILE]"); err != nil {
				return err
			}
			out, keyOut := c.String("out"), c.String("signing-key-out")
			if keyOut == "" && out != "" {
				keyOut = out + ".signing-key"
			}
			if out != "" && out == keyOut {
				return usagef("--out and --signing-key-out must name different files")
			}
			return a.keygen(time.Now(), out, keyOut)
		},
	}
}

// keygen writes the signing key (to keyOut or stdout) and then the
// identity naming its signer (to out or stdout), creating missing parent
// directories with mode 0700. Neither file is written if either exists; a
// signing key whose identity could not be written is removed again.
func (a *app) keygen(now time.Time, out, keyOut string) error {
	for _, p := range []string{out, keyOut} {
		if p == "" {
			continue
		}
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("keygen %s: %w (refusing to overwrite a key)", p, fs.ErrExist)
		}
	}
	for _, p := range []string{out, keyOut} {
		// A fresh HOME has no ~/.config/mlsbackup: create what is
		// missing, private like the keys it will hold.
		if p == "" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return fmt.Errorf("keygen: create directory: %w", err)
		}
	}
	var signer uploader.Signer
	if keyOut != "" {
		var err error
		if signer, err = uploader.GenerateSigningKeyFile(fsx.OS{}, keyOut, now); err != nil {
			return err
		}
	} else {
		content, key, err := uploader.NewSigningKeyFile(now)
		if err != nil {
			return err
		}
		signer = key.Public()
		if _, err := a.st.out.Write(content); err != nil {
			return err
		}
	}
	var recipient string
	if out != "" {
		var err error
		if recipient, err = uploader.GenerateIdentity(fsx.OS{}, out, now, signer); err != nil {
			if keyOut != "" {
				err = errors.Join(err, os.Remove(keyOut))
			}
			return err
		}
	} else {
		content, r, err := uploader.NewIdentityFile(now, signer)
		if err != nil {
			return err
		}
		recipient = r
		if _, err := a.st.out.Write(content); err != nil {
			return err
		}
	}
	labels := a.st.out
	if out == "" || keyOut == "" {
		labels = a.st.err // stdout holds a key file
	}
	if _, err := fmt.Fprintf(labels, "recipient: %s\nsigner: %s\n", recipient, signer); err != nil {
		return err
	}
	if out != "" && keyOut != "" {
		fmt.Fprintf(a.st.err, "%s: the agent's signing key: give it to the agent (encryption.signing_key_file or %s), to no one else\n", keyOut, config.SigningKeyEnv)
		fmt.Fprintf(a.st.err, "%s: the age identity: keep it off the agent's machine; it decrypts for verify, fetch and restore and names the signer\n", out)
		fmt.Fprintln(a.st.err, "the agent's configuration needs the recipient (encryption.recipients); readers trust the signer through the identity file or encryption.trusted_signers")
	}
	return nil
}
