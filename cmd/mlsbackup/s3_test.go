package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/testenv"
	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/s3store"
)

// TestS3Destination runs list, verify, fetch and prune against a real
// MinIO, configured as an operator would: endpoint, path style and keys
// from the environment; then wrong credentials and a missing bucket.
func TestS3Destination(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MinIO; run without -short (scripts/test.sh does)")
	}
	srv := testenv.MinIO(t)
	dir := t.TempDir()
	identity := filepath.Join(dir, "id.txt")
	keys := keygen(t, identity)
	recipient := keys.recipient

	writeConfig := func(name, bucket string) string {
		p := filepath.Join(dir, name)
		doc := fmt.Sprintf(`data_dir: %s
client_name: s3-agent
destination:
  type: s3
  prefix: prod/agent-1
  s3:
    bucket: %s
    region: %s
    endpoint: %s
    path_style: true
    access_key_id: ${TEST_S3_ACCESS}
    secret_access_key: ${TEST_S3_SECRET}
    part_size_mib: 5
%s  identity_file: %s
retention: {keep_last: 1, keep_within: 0s}
`, filepath.Join(dir, "data"), bucket, srv.Region, srv.Endpoint, keys.agentYAML(), identity)
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg := writeConfig("s3.yaml", srv.Bucket)
	missing := writeConfig("missing.yaml", "no-such-bucket-here")
	t.Setenv("TEST_S3_ACCESS", srv.AccessKey)
	t.Setenv("TEST_S3_SECRET", srv.SecretKey)

	// Upload as the agent will: through uploader and s3store.
	ctx := context.Background()
	st, err := s3store.New(ctx, s3store.Config{Bucket: srv.Bucket, Region: srv.Region, Endpoint: srv.Endpoint,
		PathStyle: true, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	r, err := age.ParseX25519Recipient(recipient)
	if err != nil {
		t.Fatal(err)
	}
	b, err := uploader.New(st, uploader.Options{Prefix: "prod/agent-1", Recipients: []age.Recipient{r}, SigningKey: keys.key(t), AgentID: "s3-agent"})
	if err != nil {
		t.Fatal(err)
	}
	// Epoch 1 is a group snapshot as the agent uploads it; epoch 2 is 6
	// MiB of opaque bytes (multipart at 5 MiB parts), which verify, as
	// restore, refuses as not a group snapshot.
	uploadGroupSnapshot(t, b, engine.NewMemStorage(), "s3g", 1)
	big := bytes.Repeat([]byte("0123456789abcdef"), 6<<20/16)
	if _, err := b.Upload(ctx, uploader.SnapshotMeta{GroupID: []byte("s3g"), Epoch: 2, Format: "raw"}, bytes.NewReader(big)); err != nil {
		t.Fatal(err)
	}
	group := hex.EncodeToString([]byte("s3g"))

	run := func(args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, append([]string{"--config", cfg}, args...)...)
	}
	if code, stdout, stderr := run("list"); code != exitOK || !strings.Contains(stdout, "2 snapshots in s3://") {
		t.Errorf("list: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, stdout, stderr := run("verify", "--all"); code != exitFailure || strings.Count(stdout, "ok    group") != 1 ||
		!strings.Contains(stderr, "verify: 1 of 2 objects failed") || !strings.Contains(stderr, "snapshot: import snapshot: not a group snapshot") {
		t.Errorf("verify: exit %d\n%s\n%s", code, stdout, stderr)
	}
	out := filepath.Join(dir, "fetched")
	if code, _, stderr := run("fetch", "--group", group, "--out", out); code != exitOK {
		t.Errorf("fetch: exit %d: %s", code, stderr)
	} else if got, _ := os.ReadFile(out); !bytes.Equal(got, big) {
		t.Errorf("fetched %d bytes, want the 6 MiB snapshot", len(got))
	}
	if code, stdout, stderr := run("prune"); code != exitOK || !strings.Contains(stdout, "deleted 1 snapshots") {
		t.Errorf("prune: exit %d\n%s\n%s", code, stdout, stderr)
	}

	// The demo uploads to the configured destination when given --config.
	if code, stdout, stderr := run("demo"); code != exitOK || !strings.Contains(stdout, "uploaded to s3://"+srv.Bucket) {
		t.Errorf("demo to MinIO: exit %d\n%s\n%s", code, stdout, stderr)
	}

	if code, _, stderr := runCLI(t, "--config", missing, "list"); code != exitFailure || !strings.Contains(stderr, "bucket does not exist") {
		t.Errorf("missing bucket: exit %d, %s", code, stderr)
	}
	t.Setenv("TEST_S3_SECRET", "wrong-secret-value")
	code, stdout, stderr := run("list")
	t.Logf("wrong credentials: %s", stderr)
	if code != exitFailure || !strings.Contains(stderr, "access denied") || strings.Contains(stdout+stderr, "wrong-secret-value") {
		t.Errorf("wrong credentials: exit %d\n%s\n%s", code, stdout, stderr)
	}
}
