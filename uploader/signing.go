package uploader

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/atomicfile"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

// Text forms of signing keys; see doc.go, "Signatures".
const (
	// SignerPrefix starts the text form of a [Signer].
	SignerPrefix = "ed25519:"
	// SigningKeyPrefix starts the secret line of a signing key file.
	SigningKeyPrefix = "MLSBACKUP-SIGNING-KEY-ED25519:"
	// TrustedSignerComment starts a comment line of an identity file that
	// names a signer whose backups the identity's owner trusts.
	TrustedSignerComment = "# trusted-signer:"
)

// Signer is the public half of an agent's signing key: who restores or
// verifies trusts the backups it signed. Its text form is
// "ed25519:<standard base64 of the 32-byte Ed25519 public key>".
type Signer struct {
	key [ed25519.PublicKeySize]byte
}

// ParseSigner parses the text form of a signer.
func ParseSigner(s string) (Signer, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, SigningKeyPrefix) {
		return Signer{}, errors.New("this is a secret signing key, not a signer: use its public key (the \"# public key:\" line of the signing key file)")
	}
	b64, ok := strings.CutPrefix(s, SignerPrefix)
	if !ok {
		return Signer{}, fmt.Errorf("not a signer: want %s<base64 of 32 bytes>", SignerPrefix)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return Signer{}, fmt.Errorf("not a signer: want %s<base64 of 32 bytes>", SignerPrefix)
	}
	var sg Signer
	copy(sg.key[:], raw)
	return sg, nil
}

// ParseSigners parses each of ss; errors name the index.
func ParseSigners(ss []string) ([]Signer, error) {
	out := make([]Signer, 0, len(ss))
	for i, s := range ss {
		sg, err := ParseSigner(s)
		if err != nil {
			return nil, fmt.Errorf("signer %d: %w", i, err)
		}
		out = append(out, sg)
	}
	return out, nil
}

// String returns the signer's text form.
func (s Signer) String() string {
	return SignerPrefix + base64.StdEncoding.EncodeToString(s.key[:])
}

// IsZero reports whether s is the zero Signer (no key).
func (s Signer) IsZero() bool { return s == Signer{} }

// verify reports whether sig is s's valid Ed25519 signature of msg.
func (s Signer) verify(msg, sig []byte) bool {
	return len(sig) == ed25519.SignatureSize && ed25519.Verify(s.key[:], msg, sig)
}

// SigningKey is an agent's Ed25519 signing key. It signs what the agent
// uploads and cannot decrypt anything. Its String, GoString and LogValue
// show only the public key, so that it never reaches a log by accident.
type SigningKey struct {
	priv ed25519.PrivateKey
	pub  Signer
}

// GenerateSigningKey returns a fresh signing key from crypto/rand.
func GenerateSigningKey() (*SigningKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	return newSigningKey(priv), nil
}

func newSigningKey(priv ed25519.PrivateKey) *SigningKey {
	k := &SigningKey{priv: priv}
	copy(k.pub.key[:], priv.Public().(ed25519.PublicKey))
	return k
}

// Public returns the key's signer (public key).
func (k *SigningKey) Public() Signer { return k.pub }

// String names the key by its public half; it never shows the secret.
func (k *SigningKey) String() string { return "signing key " + k.pub.String() }

// GoString is String, for %#v.
func (k *SigningKey) GoString() string { return k.String() }

// LogValue makes slog show only the public key.
func (k *SigningKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// sign returns the Ed25519 signature of msg.
func (k *SigningKey) sign(msg []byte) []byte { return ed25519.Sign(k.priv, msg) }

// ParseSigningKey parses a signing key line ("MLSBACKUP-SIGNING-KEY-ED25519:
// <base64 of the 32-byte seed>"), as in a signing key file or the
// MLSBACKUP_SIGNING_KEY environment variable. Errors never echo the input.
func ParseSigningKey(line string) (*SigningKey, error) {
	b64, ok := strings.CutPrefix(strings.TrimSpace(line), SigningKeyPrefix)
	if !ok {
		return nil, fmt.Errorf("not a signing key: want a line starting with %s", SigningKeyPrefix)
	}
	seed, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("malformed signing key: want %s<base64 of %d bytes>", SigningKeyPrefix, ed25519.SeedSize)
	}
	return newSigningKey(ed25519.NewKeyFromSeed(seed)), nil
}

// ParseSigningKeyFile parses a signing key file: exactly one signing key
// line, plus blank lines and '#' comments. name is used in errors, which
// are [*KeyFileError]s and never contain key material.
func ParseSigningKeyFile(r io.Reader, name string) (*SigningKey, error) {
	var key *SigningKey
	err := scanKeyLines(r, name, func(line string) error {
		if key != nil {
			return errors.New("more than one signing key")
		}
		k, err := ParseSigningKey(line)
		if err != nil {
			return err
		}
		key = k
		return nil
	})
	if err != nil {
		return nil, err
	}
	if key == nil {
		return nil, &KeyFileError{Path: name, Msg: "no signing key found"}
	}
	return key, nil
}

// ReadSigningKeyFile reads the signing key file at path. It refuses a
// file that others than its owner may read or write (it must be 0600 or
// stricter), as ssh does for private keys.
func ReadSigningKeyFile(path string) (*SigningKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("signing key file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("signing key file: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, &KeyFileError{Path: path, Msg: fmt.Sprintf("permissions %04o are too open: a signing key file must be readable by its owner only (chmod 600)", st.Mode().Perm())}
	}
	return ParseSigningKeyFile(f, path)
}

// NewSigningKeyFile generates a signing key and returns the content of its
// file (a created comment, a public-key comment and the secret line).
func NewSigningKeyFile(now time.Time) (content []byte, key *SigningKey, err error) {
	key, err = GenerateSigningKey()
	if err != nil {
		return nil, nil, err
	}
	content = fmt.Appendf(nil, "# created: %s\n# public key: %s\n# mlsbackup signing key: give it to the agent only (encryption.signing_key_file)\n%s%s\n",
		now.UTC().Format(time.RFC3339), key.pub, SigningKeyPrefix, base64.StdEncoding.EncodeToString(key.priv.Seed()))
	return content, key, nil
}

// GenerateSigningKeyFile writes a fresh signing key to path (mode 0600,
// durable, atomic) and returns its signer. It never overwrites: if path
// exists it fails with an error satisfying errors.Is(err, fs.ErrExist).
func GenerateSigningKeyFile(fsys fsx.FS, path string, now time.Time) (Signer, error) {
	content, key, err := NewSigningKeyFile(now)
	if err != nil {
		return Signer{}, err
	}
	if err := atomicfile.Create(fsys, path, content, 0o600); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return Signer{}, fmt.Errorf("keygen %s: %w (refusing to overwrite a signing key)", path, fs.ErrExist)
		}
		return Signer{}, fmt.Errorf("keygen: %w", err)
	}
	return key.pub, nil
}

// TrustedSigners returns the signers named by the "# trusted-signer:"
// comment lines of an identity file (see [NewIdentityFile]). Errors are
// [*KeyFileError]s naming the line.
func TrustedSigners(data []byte, name string) ([]Signer, error) {
	var out []Signer
	for i, line := range bytes.Split(data, []byte("\n")) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(string(line)), TrustedSignerComment)
		if !ok {
			continue
		}
		sg, err := ParseSigner(rest)
		if err != nil {
			return nil, &KeyFileError{Path: name, Line: i + 1, Msg: err.Error()}
		}
		out = append(out, sg)
	}
	return out, nil
}
