package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/uploader"
)

// genKeys are the files and public keys the keygen command made.
type genKeys struct {
	identity, signingKey string // the files
	recipient, signer    string // their public keys
}

// keygen writes a new age identity to path and a signing key beside it
// with the keygen command and returns them.
func keygen(t *testing.T, path string) genKeys {
	t.Helper()
	code, stdout, stderr := runCLI(t, "keygen", "--out", path)
	if code != exitOK {
		t.Fatalf("keygen: exit %d: %s", code, stderr)
	}
	k := genKeys{identity: path, signingKey: path + ".signing-key"}
	for _, line := range strings.Split(stdout, "\n") {
		if v, ok := strings.CutPrefix(line, "recipient: "); ok {
			k.recipient = v
		}
		if v, ok := strings.CutPrefix(line, "signer: "); ok {
			k.signer = v
		}
	}
	if k.recipient == "" || k.signer == "" {
		t.Fatalf("keygen printed %q, want a recipient and a signer", stdout)
	}
	return k
}

// key reads the signing key file.
func (k genKeys) key(t *testing.T) *uploader.SigningKey {
	t.Helper()
	sk, err := uploader.ReadSigningKeyFile(k.signingKey)
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

// agentYAML is the encryption section of an agent's configuration that
// uses k: the recipient and the signing key.
func (k genKeys) agentYAML() string {
	return fmt.Sprintf("encryption:\n  recipients: [%s]\n  signing_key_file: %s\n", k.recipient, k.signingKey)
}

// TestKeygenCreatesMissingDirectory: keygen --out into a directory that
// does not exist yet (~/.config/mlsbackup on a fresh HOME, as
// configs/quickstart.yaml has it) creates the missing directories, mode
// 0700, for the identity and for the signing key, instead of failing.
func TestKeygenCreatesMissingDirectory(t *testing.T) {
	home := t.TempDir()
	out := filepath.Join(home, ".config", "mlsbackup", "identity.txt")
	keyOut := filepath.Join(home, "agent", "keys", "signing-key")
	code, stdout, stderr := runCLI(t, "keygen", "--out", out, "--signing-key-out", keyOut)
	if code != exitOK {
		t.Fatalf("keygen into a missing directory: exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "recipient: age1") {
		t.Errorf("keygen printed %q, want the recipient", stdout)
	}
	for _, d := range []string{
		filepath.Join(home, ".config"), filepath.Join(home, ".config", "mlsbackup"),
		filepath.Join(home, "agent"), filepath.Join(home, "agent", "keys"),
	} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatalf("keygen did not create %s: %v", d, err)
		}
		if got := fi.Mode().Perm(); got != 0o700 {
			t.Errorf("%s mode = %o, want 700", d, got)
		}
	}
	for _, p := range []string{out, keyOut} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s mode = %o, want 600", p, got)
		}
	}
}
