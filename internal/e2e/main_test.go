package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/testenv"
)

// binary is the mlsbackup executable built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "mlsbackup-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "mlsbackup")
	out, err := exec.Command("go", "build", "-o", binary, "github.com/mlsbackup/mlsbackup/cmd/mlsbackup").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// node is one machine: a data directory and a config pointing at the shared
// MinIO bucket under its own prefix.
type node struct {
	t        *testing.T
	name     string
	dir      string
	data     string
	config   string
	identity string // the age identity that reads this node's backups
}

// newNode writes name's config: data directory, MinIO destination with
// prefix name, recipients of a fresh identity, snapshots every every epochs.
func newNode(t *testing.T, srv *testenv.Server, name string, every int) *node {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, name: name, dir: dir, data: filepath.Join(dir, "data"), config: filepath.Join(dir, "config.yaml"),
		identity: filepath.Join(dir, "identity.txt")}
	var recipient string
	for _, line := range strings.Split(n.mustRun("keygen", "--out", n.identity), "\n") {
		if v, ok := strings.CutPrefix(line, "recipient: "); ok {
			recipient = v
		}
	}
	doc := fmt.Sprintf(`data_dir: %s
client_name: %s
log: {level: warn}
destination:
  type: s3
  prefix: %s
  s3:
    bucket: %s
    endpoint: %s
    region: %s
    path_style: true
    access_key_id: %s
    secret_access_key: %s
encryption:
  recipients: [%s]
  identity_file: %s
  signing_key_file: %s.signing-key
snapshot:
  every_epochs: %d
`, n.data, name, name, srv.Bucket, srv.Endpoint, srv.Region, srv.AccessKey, srv.SecretKey, recipient, n.identity, n.identity, every)
	if err := os.WriteFile(n.config, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return n
}

// run runs one mlsbackup command for this node.
func (n *node) run(args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"--config", n.config}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// mustRun runs a command that must succeed and returns its stdout.
func (n *node) mustRun(args ...string) string {
	n.t.Helper()
	out, errOut, err := n.run(args...)
	if err != nil {
		n.t.Fatalf("%s: mlsbackup %s: %v\nstdout:\n%s\nstderr:\n%s", n.name, strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// listEntry is the part of `mlsbackup list --json` the tests read.
type listEntry struct {
	GroupID string `json:"group_id"`
	Epoch   uint64 `json:"epoch"`
}

// snapshots lists the node's complete remote snapshots.
func (n *node) snapshots() []listEntry {
	n.t.Helper()
	out := n.mustRun("list", "--json")
	var es []listEntry
	if err := json.Unmarshal([]byte(out), &es); err != nil {
		n.t.Fatalf("%s: list --json: %v\n%s", n.name, err, out)
	}
	return es
}

// waitSnapshot waits until a snapshot of gid at epoch is listed.
func waitSnapshot(t *testing.T, n *node, gid string, epoch uint64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, e := range n.snapshots() {
			if e.GroupID == gid && e.Epoch == epoch {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: no snapshot of %s at epoch %d within 30s: %+v", n.name, gid, epoch, n.snapshots())
}
