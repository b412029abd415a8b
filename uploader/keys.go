package uploader

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"

	"github.com/mlsbackup/mlsbackup/internal/atomicfile"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

// keyFileLimit bounds the size of a recipients or identities file.
const keyFileLimit = 1 << 20

// ParseRecipient parses one recipient: an age X25519 recipient ("age1…"),
// an age post-quantum hybrid recipient ("age1pq1…"), or an SSH public key
// in authorized_keys form ("ssh-ed25519 AAAA… comment", also "ssh-rsa").
// A secret key is refused without being echoed.
func ParseRecipient(s string) (age.Recipient, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "age1pq1"):
		return age.ParseHybridRecipient(s)
	case strings.HasPrefix(s, "age1"):
		return age.ParseX25519Recipient(s)
	case strings.HasPrefix(s, "ssh-"):
		return agessh.ParseRecipient(s)
	case strings.HasPrefix(s, "AGE-SECRET-KEY-"), strings.HasPrefix(s, "-----BEGIN"):
		return nil, errors.New("this is a secret key, not a recipient: use the public key (the \"# public key:\" line of the identity file, or age-keygen -y)")
	default:
		return nil, errors.New("unknown recipient type (want age1…, ssh-ed25519 … or ssh-rsa …)")
	}
}

// ParseRecipientsFile parses a recipients file: one recipient (see
// [ParseRecipient]) per line; blank lines and lines starting with '#' are
// ignored. name is used in errors, which are [*KeyFileError]s naming the line.
func ParseRecipientsFile(r io.Reader, name string) ([]age.Recipient, error) {
	recs, _, err := parseRecipients(r, name)
	return recs, err
}

// ReadRecipientLines reads and checks the recipients file at path like
// [ReadRecipientsFile] and returns its recipients as written, one string
// each, to pass them on (the agent's snapshot export takes them as text).
func ReadRecipientLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("recipients file: %w", err)
	}
	defer f.Close()
	_, lines, err := parseRecipients(f, path)
	return lines, err
}

// parseRecipients parses a recipients file into its recipients and their
// lines as written.
func parseRecipients(r io.Reader, name string) ([]age.Recipient, []string, error) {
	var recs []age.Recipient
	var lines []string
	err := scanKeyLines(r, name, func(line string) error {
		rec, err := ParseRecipient(line)
		if err != nil {
			return err
		}
		recs, lines = append(recs, rec), append(lines, line)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if len(recs) == 0 {
		return nil, nil, &KeyFileError{Path: name, Msg: "no recipients found"}
	}
	return recs, lines, nil
}

// ReadRecipientsFile reads and parses the recipients file at path.
func ReadRecipientsFile(path string) ([]age.Recipient, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("recipients file: %w", err)
	}
	defer f.Close()
	return ParseRecipientsFile(f, path)
}

// ParseIdentitiesFile parses an identities file: either age secret keys
// ("AGE-SECRET-KEY-1…", "AGE-SECRET-KEY-PQ-1…") one per line with blank lines
// and '#' comments, as written by age-keygen and [GenerateIdentity]; or an
// unencrypted OpenSSH/PEM private key (ed25519 or RSA). Errors are
// [*KeyFileError]s naming the line and never contain key material.
func ParseIdentitiesFile(r io.Reader, name string) ([]age.Identity, error) {
	data, err := io.ReadAll(io.LimitReader(r, keyFileLimit+1))
	if err != nil {
		return nil, &KeyFileError{Path: name, Msg: "read: " + err.Error()}
	}
	if len(data) > keyFileLimit {
		return nil, &KeyFileError{Path: name, Msg: "file too large for an identities file"}
	}
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN")) {
		id, err := agessh.ParseIdentity(data)
		if err != nil {
			var missing *ssh.PassphraseMissingError
			if errors.As(err, &missing) {
				return nil, &KeyFileError{Path: name, Msg: "passphrase-protected SSH keys are not supported; use an age identity"}
			}
			return nil, &KeyFileError{Path: name, Msg: "cannot parse SSH private key"}
		}
		return []age.Identity{id}, nil
	}
	var ids []age.Identity
	err = scanKeyLines(bytes.NewReader(data), name, func(line string) error {
		switch {
		case strings.HasPrefix(line, "AGE-SECRET-KEY-PQ-1"):
			id, err := age.ParseHybridIdentity(line)
			if err != nil {
				return errors.New("malformed age post-quantum secret key")
			}
			ids = append(ids, id)
		case strings.HasPrefix(line, "AGE-SECRET-KEY-1"):
			id, err := age.ParseX25519Identity(line)
			if err != nil {
				return errors.New("malformed age secret key")
			}
			ids = append(ids, id)
		case strings.HasPrefix(line, "age1"), strings.HasPrefix(line, "ssh-"):
			return errors.New("this is a recipient (public key), not an identity")
		case strings.HasPrefix(line, "AGE-PLUGIN-"):
			return errors.New("age plugin identities are not supported")
		default:
			return errors.New("unknown identity type")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, &KeyFileError{Path: name, Msg: "no identities found"}
	}
	return ids, nil
}

// ReadIdentitiesFile reads and parses the identities file at path.
func ReadIdentitiesFile(path string) ([]age.Identity, error) {
	ids, _, err := ReadIdentityFile(path)
	return ids, err
}

// ReadIdentityFile reads the identities file at path and returns its
// identities and the signers its "# trusted-signer:" lines name (see
// [TrustedSigners]).
func ReadIdentityFile(path string) ([]age.Identity, []Signer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("identities file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, keyFileLimit+1))
	if err != nil {
		return nil, nil, fmt.Errorf("identities file: %w", err)
	}
	ids, err := ParseIdentitiesFile(bytes.NewReader(data), path)
	if err != nil {
		return nil, nil, err
	}
	signers, err := TrustedSigners(data, path)
	if err != nil {
		return nil, nil, err
	}
	return ids, signers, nil
}

// scanKeyLines calls fn for every line of r that is neither blank nor a
// '#' comment, with surrounding white space removed. An error from fn is
// returned as a [*KeyFileError] naming the line.
func scanKeyLines(r io.Reader, name string, fn func(line string) error) error {
	lr := &io.LimitedReader{R: r, N: keyFileLimit + 1}
	sc := bufio.NewScanner(lr)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !utf8.ValidString(line) {
			return &KeyFileError{Path: name, Line: n, Msg: "not valid UTF-8"}
		}
		if err := fn(line); err != nil {
			return &KeyFileError{Path: name, Line: n, Msg: err.Error()}
		}
	}
	if err := sc.Err(); err != nil {
		return &KeyFileError{Path: name, Line: n + 1, Msg: "read: " + err.Error()}
	}
	if lr.N <= 0 {
		return &KeyFileError{Path: name, Msg: "file too large for a key file"}
	}
	return nil
}

// NewIdentityFile generates a fresh age X25519 identity and returns the
// content of its identities file (the format age-keygen writes: a created
// comment, a public-key comment and the secret key) and its recipient.
// Each of signers is named in a "# trusted-signer:" comment line, which
// age ignores and restore and verify read ([TrustedSigners]).
func NewIdentityFile(now time.Time, signers ...Signer) (content []byte, recipient string, err error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, "", fmt.Errorf("generate identity: %w", err)
	}
	recipient = id.Recipient().String()
	content = fmt.Appendf(nil, "# created: %s\n# public key: %s\n", now.UTC().Format(time.RFC3339), recipient)
	for _, s := range signers {
		content = fmt.Appendf(content, "%s %s\n", TrustedSignerComment, s)
	}
	content = fmt.Appendf(content, "%s\n", id.String())
	return content, recipient, nil
}

// GenerateIdentity writes a fresh age identity to path (mode 0600, durable,
// atomic) and returns its recipient ("age1…"), the only thing an agent needs
// to back up; signers are named in it as by [NewIdentityFile]. It never
// overwrites: if path exists it fails with an error satisfying
// errors.Is(err, fs.ErrExist), since replacing an identity file would make
// every backup encrypted to it unreadable.
func GenerateIdentity(fsys fsx.FS, path string, now time.Time, signers ...Signer) (recipient string, err error) {
	content, recipient, err := NewIdentityFile(now, signers...)
	if err != nil {
		return "", err
	}
	if err := atomicfile.Create(fsys, path, content, 0o600); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("keygen %s: %w (refusing to overwrite an identity)", path, fs.ErrExist)
		}
		return "", fmt.Errorf("keygen: %w", err)
	}
	return recipient, nil
}
