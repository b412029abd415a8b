package uploader

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

// sshKeys returns an ed25519 SSH public key line and its private key PEM.
func sshKeys(t *testing.T, passphrase string) (pub string, priv []byte) {
	t.Helper()
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pk)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(sk, "test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(sk, "test", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))) + " user@host", pem.EncodeToMemory(block)
}

// flipLast replaces the last character of a bech32 string with another
// valid bech32 character, breaking its checksum.
func flipLast(s string) string {
	last := s[len(s)-1]
	repl := byte('q')
	if last == 'q' {
		repl = 'p'
	}
	return s[:len(s)-1] + string(repl)
}

func TestParseRecipient(t *testing.T) {
	k := newTestKeys(t)
	sshPub, _ := sshKeys(t, "")
	tests := []struct {
		name    string
		in      string
		wantErr string // substring; "" means success
	}{
		{"x25519", k.rec.String(), ""},
		{"x25519 with spaces", "  " + k.rec.String() + "\t", ""},
		{"ssh-ed25519", sshPub, ""},
		{"bad checksum", flipLast(k.rec.String()), "malformed"},
		{"secret key", k.id.String(), "secret key"},
		{"unknown", "hello", "unknown recipient type"},
		{"empty", "", "unknown recipient type"},
		{"bad ssh", "ssh-ed25519 AAAA", "SSH"},
	}
	for _, tt := range tests {
		_, err := ParseRecipient(tt.in)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: got error %v, want success", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: got error %v, want one containing %q", tt.name, err, tt.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "AGE-SECRET-KEY") {
			t.Errorf("%s: error leaks a secret key: %v", tt.name, err)
		}
	}
}

func TestParseRecipientsFile(t *testing.T) {
	k1, k2 := newTestKeys(t), newTestKeys(t)
	sshPub, _ := sshKeys(t, "")
	tests := []struct {
		name     string
		content  string
		wantN    int
		wantLine int // for errors
		wantMsg  string
	}{
		{"one per line with comments", "# backup recipients\n\n" + k1.rec.String() + "\n# ssh\n" + sshPub + "\n", 2, 0, ""},
		{"crlf", k1.rec.String() + "\r\n" + k2.rec.String() + "\r\n", 2, 0, ""},
		{"age-keygen -y output", k1.rec.String() + "\n", 1, 0, ""},
		{"identity file by mistake", "# created: x\n# public key: " + k1.rec.String() + "\n" + k1.id.String() + "\n", 0, 3, "secret key"},
		{"garbage on line 2", k1.rec.String() + "\nnot a key\n", 0, 2, "unknown recipient type"},
		{"only comments", "# nothing\n\n", 0, 0, "no recipients found"},
	}
	for _, tt := range tests {
		recs, err := ParseRecipientsFile(strings.NewReader(tt.content), "recipients.txt")
		if tt.wantMsg == "" {
			if err != nil || len(recs) != tt.wantN {
				t.Errorf("%s: got %d recipients, %v; want %d", tt.name, len(recs), err, tt.wantN)
			}
			continue
		}
		var kfe *KeyFileError
		if !errors.As(err, &kfe) || kfe.Line != tt.wantLine || !strings.Contains(kfe.Msg, tt.wantMsg) || kfe.Path != "recipients.txt" {
			t.Errorf("%s: got %v, want recipients.txt line %d: %q", tt.name, err, tt.wantLine, tt.wantMsg)
		}
		if !errors.Is(err, ErrBadKeyFile) {
			t.Errorf("%s: %v is not ErrBadKeyFile", tt.name, err)
		}
		if strings.Contains(err.Error(), "AGE-SECRET-KEY") {
			t.Errorf("%s: error leaks a secret key: %v", tt.name, err)
		}
	}
}

// TestReadRecipientLines checks that the recipients are returned as
// written, comments and blank lines left out, and that a bad line fails
// as it does for ReadRecipientsFile.
func TestReadRecipientLines(t *testing.T) {
	k1 := newTestKeys(t)
	sshPub, _ := sshKeys(t, "")
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good"), filepath.Join(dir, "bad")
	if err := os.WriteFile(good, []byte("# backup\n\n "+k1.rec.String()+" \r\n"+sshPub+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(k1.rec.String()+"\nnot a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRecipientLines(good)
	if want := []string{k1.rec.String(), strings.TrimSpace(sshPub)}; err != nil || !slices.Equal(got, want) {
		t.Errorf("ReadRecipientLines = %q, %v; want %q", got, err, want)
	}
	var kfe *KeyFileError
	if _, err := ReadRecipientLines(bad); !errors.As(err, &kfe) || kfe.Line != 2 {
		t.Errorf("bad file: got %v, want a KeyFileError on line 2", err)
	}
}

func TestParseIdentitiesFile(t *testing.T) {
	content, _, err := NewIdentityFile(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	k := newTestKeys(t)
	_, sshPriv := sshKeys(t, "")
	_, sshEnc := sshKeys(t, "hunter2")
	tests := []struct {
		name     string
		content  string
		wantN    int
		wantLine int
		wantMsg  string
	}{
		{"our keygen", string(content), 1, 0, ""},
		{"two keys, blank lines", "\n" + k.id.String() + "\n\n# c\n" + string(content), 2, 0, ""},
		{"ssh ed25519 private key", string(sshPriv), 1, 0, ""},
		{"encrypted ssh key", string(sshEnc), 0, 0, "passphrase-protected"},
		{"recipient instead", "# x\n" + k.rec.String() + "\n", 0, 2, "recipient (public key)"},
		{"damaged secret", k.id.String()[:30] + "\n", 0, 1, "malformed age secret key"},
		{"plugin", "AGE-PLUGIN-YUBIKEY-1XYZ\n", 0, 1, "plugin"},
		{"empty", "", 0, 0, "no identities found"},
	}
	for _, tt := range tests {
		ids, err := ParseIdentitiesFile(strings.NewReader(tt.content), "key.txt")
		if tt.wantMsg == "" {
			if err != nil || len(ids) != tt.wantN {
				t.Errorf("%s: got %d identities, %v; want %d", tt.name, len(ids), err, tt.wantN)
			}
			continue
		}
		var kfe *KeyFileError
		if !errors.As(err, &kfe) || kfe.Line != tt.wantLine || !strings.Contains(kfe.Msg, tt.wantMsg) {
			t.Errorf("%s: got %v, want key.txt line %d: %q", tt.name, err, tt.wantLine, tt.wantMsg)
		}
		if err != nil && strings.Contains(err.Error(), "AGE-SECRET-KEY-1") {
			t.Errorf("%s: error leaks a secret key: %v", tt.name, err)
		}
	}
}

func TestGenerateIdentity(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "backup-identity.txt")
	rec, err := GenerateIdentity(fsx.OS{}, path, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("identity file mode %o, want 600", got)
	}
	ids, err := ReadIdentitiesFile(path)
	if err != nil || len(ids) != 1 {
		t.Fatalf("read back: %d identities, %v", len(ids), err)
	}
	if got := ids[0].(*age.X25519Identity).Recipient().String(); got != rec {
		t.Errorf("returned recipient %s, file's identity has %s", rec, got)
	}
	content, _ := os.ReadFile(path)
	if !bytes.Contains(content, []byte("# public key: "+rec+"\n")) {
		t.Errorf("identity file lacks the public key comment:\n%s", content)
	}
	// A recipients file holding the returned recipient encrypts to it.
	recPath := filepath.Join(dir, "recipients.txt")
	if err := os.WriteFile(recPath, []byte(rec+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	recs, err := ReadRecipientsFile(recPath)
	if err != nil {
		t.Fatal(err)
	}
	b := newTestBackup(t, newMemStore(), newTestKeys(t), func(o *Options) { o.Recipients, o.Identities = recs, ids })
	m := mustUpload(t, b, "g", 1, []byte("state"))
	if err := b.Verify(context.Background(), m); err != nil {
		t.Errorf("round trip through keygen files: %v", err)
	}

	// Never overwrite an identity.
	_, err = GenerateIdentity(fsx.OS{}, path, time.Now())
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second keygen to the same path: %v, want fs.ErrExist", err)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, content) {
		t.Error("second keygen changed the identity file")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("keygen left %d files, want 2", len(entries))
	}
}

func TestSSHRecipientRoundTrip(t *testing.T) {
	pub, priv := sshKeys(t, "")
	rec, err := ParseRecipient(pub)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := ParseIdentitiesFile(bytes.NewReader(priv), "id_ed25519")
	if err != nil {
		t.Fatal(err)
	}
	b := newTestBackup(t, newMemStore(), newTestKeys(t), func(o *Options) {
		o.Recipients, o.Identities = []age.Recipient{rec}, ids
	})
	data := randomBytes(t, 70_000)
	m := mustUpload(t, b, "g", 1, data)
	var out bytes.Buffer
	if err := b.Fetch(context.Background(), m, &out); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("ssh-ed25519 round trip: %v (%d bytes back)", err, out.Len())
	}
}

func FuzzParseKeyFiles(f *testing.F) {
	f.Add("# c\nage1qqqq\n")
	f.Add("AGE-SECRET-KEY-1QQQQ\n")
	f.Add("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n")
	f.Add("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x\n")
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := ParseRecipientsFile(strings.NewReader(s), "r"); err != nil && !errors.Is(err, ErrBadKeyFile) {
			t.Fatalf("recipients error %v is not ErrBadKeyFile", err)
		}
		if _, err := ParseIdentitiesFile(strings.NewReader(s), "i"); err != nil && !errors.Is(err, ErrBadKeyFile) {
			t.Fatalf("identities error %v is not ErrBadKeyFile", err)
		}
	})
}
