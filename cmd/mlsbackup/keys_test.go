package main

import (
	"fmt"
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
