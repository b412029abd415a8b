package uploader

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

// newTestSigningKey returns a fresh signing key.
func newTestSigningKey(t testing.TB) *SigningKey {
	t.Helper()
	k, err := GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSignerTextRoundTrip(t *testing.T) {
	k := newTestSigningKey(t)
	s := k.Public().String()
	if !strings.HasPrefix(s, SignerPrefix) {
		t.Fatalf("signer %q lacks prefix %q", s, SignerPrefix)
	}
	got, err := ParseSigner("  " + s + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if got != k.Public() {
		t.Errorf("ParseSigner(%q) = %v, want %v", s, got, k.Public())
	}
	msg := []byte("payload")
	if sig := k.sign(msg); !got.verify(msg, sig) || got.verify([]byte("other"), sig) || got.verify(msg, sig[:10]) {
		t.Error("verify does not tell a good signature from a bad one")
	}
}

func TestParseSignerErrors(t *testing.T) {
	for _, s := range []string{"", "ed25519:", "ed25519:AAAA", "ssh-ed25519 AAAA", "ed25519:" + base64.StdEncoding.EncodeToString(make([]byte, 33)),
		"ed25519:" + base64.RawStdEncoding.EncodeToString(make([]byte, 32))} {
		if _, err := ParseSigner(s); err == nil {
			t.Errorf("ParseSigner(%q) succeeded", s)
		}
	}
}

// TestSigningKeyNeverPrinted: formatting or logging a key shows only its
// public half, and parse errors do not echo the input.
func TestSigningKeyNeverPrinted(t *testing.T) {
	content, k, err := NewSigningKeyFile(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	secret := base64.StdEncoding.EncodeToString(k.priv.Seed())
	if !bytes.Contains(content, []byte(secret)) {
		t.Fatal("key file does not hold the seed")
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "key", k)
	for _, out := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k), logged.String(), fmt.Sprintf("%v", struct{ K *SigningKey }{k})} {
		if strings.Contains(out, secret) {
			t.Errorf("%q shows the secret", out)
		}
	}
	if !strings.Contains(fmt.Sprint(k), k.Public().String()) {
		t.Errorf("%v does not name the public key", k)
	}
	for _, bad := range []string{SigningKeyPrefix + secret[:20], SigningKeyPrefix + secret + "AA", "AGE-SECRET-KEY-1" + secret} {
		_, err := ParseSigningKey(bad)
		if err == nil {
			t.Fatalf("ParseSigningKey(%q) succeeded", bad)
		}
		if strings.Contains(err.Error(), secret[:20]) {
			t.Errorf("error %q echoes the key", err)
		}
	}
	if _, err := ParseSigner(SigningKeyPrefix + secret); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("ParseSigner of a secret key: %v", err)
	}
}

func TestSigningKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "signing-key")
	signer, err := GenerateSigningKeyFile(fsx.OS{}, path, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	k, err := ReadSigningKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if k.Public() != signer {
		t.Errorf("read key %v, want %v", k.Public(), signer)
	}
	data, _ := os.ReadFile(path)
	if !bytes.Contains(data, []byte("# public key: "+signer.String())) {
		t.Errorf("key file lacks its public key comment:\n%s", data)
	}
	if _, err := GenerateSigningKeyFile(fsx.OS{}, path, time.Now()); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second keygen: %v, want fs.ErrExist", err)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, data) {
		t.Error("second keygen changed the key file")
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSigningKeyFile(path); err == nil || !strings.Contains(err.Error(), "too open") {
		t.Errorf("group-readable key file: %v, want refusal", err)
	}
}

func TestParseSigningKeyFileErrors(t *testing.T) {
	content, _, err := NewSigningKeyFile(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{
		"empty":     "# only a comment\n",
		"two keys":  string(content) + string(content),
		"garbage":   "not a key\n",
		"age ident": "AGE-SECRET-KEY-1QQQQ\n",
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseSigningKeyFile(strings.NewReader(in), "key")
			var kfe *KeyFileError
			if !errors.As(err, &kfe) {
				t.Fatalf("got %v, want a *KeyFileError", err)
			}
		})
	}
}

// TestIdentityFileNamesTrustedSigners: the identity file keygen writes
// names the signer in a comment line that ParseIdentitiesFile (and age)
// skip and TrustedSigners reads.
func TestIdentityFileNamesTrustedSigners(t *testing.T) {
	k1, k2 := newTestSigningKey(t), newTestSigningKey(t)
	path := filepath.Join(t.TempDir(), "identity.txt")
	if _, err := GenerateIdentity(fsx.OS{}, path, time.Now(), k1.Public(), k2.Public()); err != nil {
		t.Fatal(err)
	}
	ids, signers, err := ReadIdentityFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || len(signers) != 2 || signers[0] != k1.Public() || signers[1] != k2.Public() {
		t.Errorf("got %d identities and signers %v, want 1 and [%v %v]", len(ids), signers, k1.Public(), k2.Public())
	}
	if _, err := TrustedSigners([]byte(TrustedSignerComment+" ed25519:AAAA\n"), "f"); err == nil {
		t.Error("a malformed trusted-signer line was accepted")
	}
}
