package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/dirstore"
)

// TestAgentNeedsSigningKey: without a signing key the agent refuses to
// open, naming the configuration key and the environment variable; with
// encryption.allow_unsigned it opens and uploads unsigned manifests; a key
// from MLSBACKUP_SIGNING_KEY wins over the file.
func TestAgentNeedsSigningKey(t *testing.T) {
	ctx := context.Background()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	newCfg := func() *config.Config {
		cfg := config.Default()
		cfg.DataDir, cfg.ClientName = filepath.Join(shortTempDir(t), "data"), "alice"
		cfg.Encryption.Recipients = []string{id.Recipient().String()}
		return cfg
	}
	st, err := dirstore.New(filepath.Join(t.TempDir(), "bucket"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, newCfg(), nil, Options{Store: st}); !errors.Is(err, ErrNoSigningKey) ||
		!strings.Contains(err.Error(), "encryption.signing_key_file") || !strings.Contains(err.Error(), config.SigningKeyEnv) {
		t.Fatalf("open without a key: %v, want ErrNoSigningKey naming the key and the variable", err)
	}

	cfg := newCfg()
	cfg.Encryption.AllowUnsigned = true
	a, err := Open(ctx, cfg, nil, Options{Store: st})
	if err != nil {
		t.Fatalf("open with allow_unsigned: %v", err)
	}
	if _, err := a.Create(ctx, "", []byte("g"), 0); err != nil {
		t.Fatal(err)
	}
	a.sched.start()
	if _, err := a.SnapshotNow(ctx, []byte("g")); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := uploader.New(st, uploader.Options{Prefix: cfg.Destination.Prefix, AllowUnsigned: true})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := b.List(ctx, nil)
	if err != nil || len(ms) != 1 || ms[0].Signed() {
		t.Fatalf("allow_unsigned uploads: %+v, %v; want one unsigned manifest", ms, err)
	}

	fileKey, envKey := newTestSigningKeyFile(t), newTestSigningKeyFile(t)
	want, err := uploader.ReadSigningKeyFile(envKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg = newCfg()
	cfg.Encryption.SigningKeyFile = fileKey
	env := map[string]string{config.SigningKeyEnv: keyLine(t, envKey)}
	got, err := LoadSigningKey(cfg, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil || got.Public() != want.Public() {
		t.Errorf("LoadSigningKey = %v, %v; want the environment's key %v", got, err, want.Public())
	}
}

// keyLine returns the secret line of the signing key file at path.
func keyLine(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, uploader.SigningKeyPrefix) {
			return l
		}
	}
	t.Fatalf("no key line in %s", path)
	return ""
}
