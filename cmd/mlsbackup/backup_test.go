package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/dirstore"
)

// backupFixture is a data directory with a local-directory bucket holding
// snapshots uploaded by the agent "test-agent", a config file for it, and
// the identity that reads them.
type backupFixture struct {
	dir      string
	config   string
	identity string
	bucket   string
	plain    map[string][]byte // "<group hex>/<epoch>" → plaintext
	backup   *uploader.Backup  // uploads as "test-agent"
}

func newBackupFixture(t *testing.T) *backupFixture {
	t.Helper()
	dir := t.TempDir()
	f := &backupFixture{dir: dir, identity: filepath.Join(dir, "identity.txt"), bucket: filepath.Join(dir, "bucket"),
		plain: map[string][]byte{}}
	keys := keygen(t, f.identity)
	recipient := keys.recipient
	f.config = filepath.Join(dir, "config.yaml")
	doc := fmt.Sprintf(`data_dir: %s
client_name: test-agent
destination:
  type: dir
  prefix: team
  dir: {path: %s}
%s  identity_file: %s
retention:
  keep_last: 1
  keep_within: 0s
`, filepath.Join(dir, "data"), f.bucket, keys.agentYAML(), f.identity)
	if err := os.WriteFile(f.config, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := age.ParseX25519Recipient(recipient)
	if err != nil {
		t.Fatal(err)
	}
	store, err := dirstore.New(f.bucket)
	if err != nil {
		t.Fatal(err)
	}
	b, err := uploader.New(store, uploader.Options{Prefix: "team", Recipients: []age.Recipient{r}, SigningKey: keys.key(t), AgentID: "test-agent"})
	if err != nil {
		t.Fatal(err)
	}
	f.backup = b
	// Real group snapshots, as the agent uploads them: verify parses them.
	st := engine.NewMemStorage()
	for _, s := range []struct {
		group string
		epoch uint64
	}{{"g1", 1}, {"g1", 2}, {"g2", 7}} {
		f.plain[fmt.Sprintf("%x/%d", s.group, s.epoch)] = uploadGroupSnapshot(t, b, st, s.group, s.epoch)
	}
	return f
}

// uploadGroupSnapshot brings group gid in st (created if needed) to epoch
// with self-updates and uploads its snapshot as the agent does; it
// returns the snapshot.
func uploadGroupSnapshot(t *testing.T, b *uploader.Backup, st *engine.MemStorage, gid string, epoch uint64) []byte {
	t.Helper()
	ctx := context.Background()
	g, err := engine.LoadGroup(ctx, st, []byte(gid), engine.Options{})
	if err != nil {
		if g, err = engine.NewClient(st, []byte("test-agent"), engine.Options{}).CreateGroup(ctx, suite.X25519AES128GCMSHA256Ed25519, []byte(gid)); err != nil {
			t.Fatal(err)
		}
	}
	for g.Epoch() < epoch {
		if _, err := g.Commit(ctx, engine.CommitOptions{SelfUpdate: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := g.MergePendingCommit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	data, err := uploadSnapshot(ctx, b, st, []byte(gid))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func (f *backupFixture) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCLI(t, append([]string{"--config", f.config}, args...)...)
}

// dataObjects returns the snapshot.age files in the bucket, sorted.
func (f *backupFixture) dataObjects(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(f.bucket, func(p string, e os.DirEntry, err error) error {
		if err == nil && e.Name() == "snapshot.age" {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var g1 = hex.EncodeToString([]byte("g1"))

// TestKeygen: keygen writes the identity and the agent's signing key
// (both 0600, never overwritten), the identity names the signer, and the
// recipient and signer are printed labelled.
func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "id.txt")
	k := keygen(t, out)
	if !strings.HasPrefix(k.recipient, "age1") || !strings.HasPrefix(k.signer, "ed25519:") {
		t.Fatalf("keygen printed recipient %q and signer %q", k.recipient, k.signer)
	}
	for _, p := range []string{out, k.signingKey} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s mode = %o, want 600", p, got)
		}
	}
	before, _ := os.ReadFile(out)
	if !bytes.Contains(before, []byte("# public key: "+k.recipient)) || !bytes.Contains(before, []byte("# trusted-signer: "+k.signer)) {
		t.Errorf("identity file lacks the public key or trusted-signer comment:\n%s", before)
	}
	key, err := uploader.ReadSigningKeyFile(k.signingKey)
	if err != nil {
		t.Fatal(err)
	}
	if key.Public().String() != k.signer {
		t.Errorf("signing key file holds %v, keygen printed %s", key.Public(), k.signer)
	}

	code, _, stderr := runCLI(t, "keygen", "--out", out, "--signing-key-out", filepath.Join(dir, "new-key"))
	after, _ := os.ReadFile(out)
	if code != exitFailure || !strings.Contains(stderr, "refusing to overwrite") || !bytes.Equal(before, after) {
		t.Errorf("second keygen: exit %d, stderr %q, file changed %v; want exit 1, refusal, file intact", code, stderr, !bytes.Equal(before, after))
	}
	if _, err := os.Stat(filepath.Join(dir, "new-key")); err == nil {
		t.Error("a refused keygen left a signing key behind")
	}

	code, stdout, stderr := runCLI(t, "keygen")
	if code != exitOK || !strings.Contains(stdout, "AGE-SECRET-KEY-1") || !strings.Contains(stdout, uploader.SigningKeyPrefix) ||
		!strings.HasPrefix(stderr, "recipient: age1") || !strings.Contains(stderr, "signer: ed25519:") {
		t.Errorf("keygen to stdout: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestListVerifyFetchPrune(t *testing.T) {
	f := newBackupFixture(t)

	code, stdout, stderr := f.run(t, "list")
	if code != exitOK || strings.Count(stdout, "test-agent") != 3 || !strings.Contains(stdout, "3 snapshots in") {
		t.Fatalf("list: exit %d\n%s\n%s", code, stdout, stderr)
	}

	code, stdout, _ = f.run(t, "list", "--json", "--group", g1)
	var views []manifestView
	if code != exitOK || json.Unmarshal([]byte(stdout), &views) != nil {
		t.Fatalf("list --json: exit %d, %s", code, stdout)
	}
	if len(views) != 2 || views[0].GroupID != g1 || views[0].Epoch != 1 || views[1].Epoch != 2 || views[1].PlaintextSize != int64(len(f.plain[g1+"/2"])) {
		t.Errorf("list --json --group g1 = %+v, want epochs 1 and 2 of g1", views)
	}

	code, stdout, stderr = f.run(t, "verify")
	if code != exitOK || !strings.Contains(stdout, "2 snapshots verified") {
		t.Errorf("verify (newest per group): exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, _ = f.run(t, "verify", "--all", "--json")
	var vs []verifyView
	if code != exitOK || json.Unmarshal([]byte(stdout), &vs) != nil || len(vs) != 3 || !vs[0].OK {
		t.Errorf("verify --all --json: exit %d, %s", code, stdout)
	}

	out := filepath.Join(f.dir, "fetched")
	code, stdout, stderr = f.run(t, "fetch", "--group", g1, "--epoch", "1", "--out", out)
	if code != exitOK {
		t.Fatalf("fetch: exit %d: %s %s", code, stdout, stderr)
	}
	got, _ := os.ReadFile(out)
	if !bytes.Equal(got, f.plain[g1+"/1"]) {
		t.Errorf("fetched %d bytes, want the plaintext of g1 epoch 1", len(got))
	}
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o600 {
		t.Errorf("fetched file mode %o, want 600", fi.Mode().Perm())
	}
	code, _, stderr = f.run(t, "fetch", "--group", g1, "--out", out)
	again, _ := os.ReadFile(out)
	if code != exitFailure || !strings.Contains(stderr, "refusing to overwrite") || !bytes.Equal(again, got) {
		t.Errorf("fetch over an existing file: exit %d, %s", code, stderr)
	}

	code, stdout, _ = f.run(t, "prune", "--dry-run")
	if code != exitOK || !strings.Contains(stdout, "would delete group "+g1+" epoch 1") {
		t.Errorf("prune --dry-run: exit %d\n%s", code, stdout)
	}
	if _, stdout, _ = f.run(t, "list"); !strings.Contains(stdout, "3 snapshots") {
		t.Errorf("dry run deleted something:\n%s", stdout)
	}
	code, stdout, stderr = f.run(t, "prune")
	if code != exitOK || !strings.Contains(stdout, "deleted 1 snapshots") {
		t.Errorf("prune: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, stdout, _ = f.run(t, "list"); !strings.Contains(stdout, "2 snapshots") {
		t.Errorf("after prune:\n%s", stdout)
	}
}

func TestBackupCommandFailures(t *testing.T) {
	f := newBackupFixture(t)
	wrongID := filepath.Join(f.dir, "wrong.txt")
	if code, _, stderr := runCLI(t, "keygen", "--out", wrongID); code != exitOK {
		t.Fatal(stderr)
	}
	noIdentity := filepath.Join(f.dir, "noid.yaml")
	cfg, _ := os.ReadFile(f.config)
	cfg = bytes.Replace(cfg, []byte("identity_file: "+f.identity), []byte("identity_file: \"\""), 1)
	if err := os.WriteFile(noIdentity, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	otherAgent := filepath.Join(f.dir, "other.yaml")
	cfg = bytes.Replace(cfg, []byte("client_name: test-agent"), []byte("client_name: other-agent"), 1)
	if err := os.WriteFile(otherAgent, cfg, 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"bad group hex", []string{"--config", f.config, "list", "--group", "xyz"}, exitUsage, `--group: "xyz" is not a hex group id`},
		{"verify group and all", []string{"--config", f.config, "verify", "--group", g1, "--all"}, exitUsage, "--group, --all and --object exclude each other"},
		{"verify without identity", []string{"--config", noIdentity, "verify"}, exitUsage, "pass --identity FILE or set encryption.identity_file"},
		{"verify wrong identity", []string{"--config", f.config, "verify", "--identity", wrongID}, exitFailure, "no identity matches the snapshot"},
		{"verify missing identity file", []string{"--config", f.config, "verify", "--identity", filepath.Join(f.dir, "nope")}, exitFailure, "nope"},
		{"verify unknown group", []string{"--config", f.config, "verify", "--group", "abcd"}, exitFailure, "no matching snapshot"},
		{"fetch without out", []string{"--config", f.config, "fetch", "--group", g1}, exitUsage, "fetch needs --group ID and --out FILE"},
		{"fetch unknown epoch", []string{"--config", f.config, "fetch", "--group", g1, "--epoch", "9", "--out", filepath.Join(f.dir, "x")}, exitFailure, "no complete snapshot at epoch 9"},
		{"prune by another agent", []string{"--config", otherAgent, "prune"}, exitFailure, `prefix is leased to agent "test-agent"`},
		{"list extra argument", []string{"--config", f.config, "list", "extra"}, exitUsage, "usage: mlsbackup list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, want %d; stderr %q, want it to contain %q (stdout %q)", code, tt.code, stderr, tt.stderr, stdout)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(f.dir, "x")); !os.IsNotExist(err) {
		t.Errorf("a failed fetch left a file: %v", err)
	}
	// --take-over lets another agent prune, once it is told to.
	if code, stdout, stderr := runCLI(t, "--config", otherAgent, "prune", "--take-over"); code != exitOK {
		t.Errorf("prune --take-over: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// TestDamagedObjects flips a bit in one object and truncates another:
// verify names both objects and exits 1; fetch of a damaged snapshot
// writes no file.
func TestDamagedObjects(t *testing.T) {
	f := newBackupFixture(t)
	objs := f.dataObjects(t)
	if len(objs) != 3 {
		t.Fatalf("bucket holds %d snapshots, want 3", len(objs))
	}
	flip, trunc := objs[0], objs[2]
	data, _ := os.ReadFile(flip)
	data[len(data)/2] ^= 0x01
	if err := os.WriteFile(flip, data, 0o600); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(trunc)
	if err := os.WriteFile(trunc, data[:len(data)-100], 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := f.run(t, "verify", "--all")
	if code != exitFailure || !strings.Contains(stderr, "verify: 2 of 3 objects failed") {
		t.Errorf("verify: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, p := range []string{flip, trunc} {
		rel, _ := filepath.Rel(f.bucket, p)
		if !strings.Contains(stdout, rel) || !strings.Contains(stderr, rel) {
			t.Errorf("verify output or error does not name %s:\n%s\n%s", rel, stdout, stderr)
		}
	}
	if strings.Count(stdout, "FAIL") != 2 || strings.Count(stdout, "ok ") != 1 {
		t.Errorf("want 2 FAIL lines and 1 ok line:\n%s", stdout)
	}
	out := filepath.Join(f.dir, "fetched")
	code, _, stderr = f.run(t, "fetch", "--group", g1, "--epoch", "1", "--out", out)
	if code != exitFailure || !strings.Contains(stderr, "snapshot.age") {
		t.Errorf("fetch of a damaged snapshot: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed fetch left %s: %v", out, err)
	}
}

func TestMissingBucketDirectory(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, "--data-dir", dir, "list")
	if code != exitFailure || !strings.Contains(stderr, "bucket does not exist") || !strings.Contains(stderr, filepath.Join(dir, "bucket")) {
		t.Errorf("list of a missing directory bucket: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "bucket")); !os.IsNotExist(err) {
		t.Errorf("list created the bucket directory: %v", err)
	}
}

// TestVerifyObjectAndChecks: verify --object checks one manifest and
// prints its signer and payload digest; a manifest whose payload was
// edited fails the signature check, which --json names for that object
// alone.
func TestVerifyObjectAndChecks(t *testing.T) {
	f := newBackupFixture(t)
	code, stdout, stderr := f.run(t, "list", "--json", "--group", g1)
	var views []manifestView
	if code != exitOK || json.Unmarshal([]byte(stdout), &views) != nil || len(views) != 2 {
		t.Fatalf("list: exit %d\n%s\n%s", code, stdout, stderr)
	}
	rel := strings.TrimPrefix(views[0].Key, "team/")
	code, stdout, stderr = f.run(t, "verify", "--object", rel)
	if code != exitOK || !strings.Contains(stdout, "signer ed25519:") || !strings.Contains(stdout, "payload sha256 ") ||
		!strings.Contains(stdout, "checks passed: envelope, signed, signer, signature, payload, location, download, decrypt, checksums, snapshot") {
		t.Fatalf("verify --object: exit %d\n%s\n%s", code, stdout, stderr)
	}

	path := filepath.Join(f.bucket, filepath.FromSlash(views[0].Key))
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]any
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
	env["payload"] = bytes.Replace(payload, []byte(`"epoch":1`), []byte(`"epoch":9`), 1)
	edited, _ := json.Marshal(env)
	if err := os.WriteFile(path, edited, 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = f.run(t, "verify", "--all", "--json")
	var vs []verifyView
	if code != exitFailure || json.Unmarshal([]byte(stdout), &vs) != nil {
		t.Fatalf("verify --all --json of an edited manifest: exit %d\n%s", code, stdout)
	}
	for _, v := range vs {
		want := ""
		if v.Key == views[0].Key {
			want = "signature"
		}
		if v.Check != want || v.OK != (want == "") {
			t.Errorf("%s: check %q ok %v (%s), want failed check %q", v.Key, v.Check, v.OK, v.Error, want)
		}
	}
	code, _, stderr = f.run(t, "verify", "--object", views[0].Key)
	if code != exitFailure || !strings.Contains(stderr, "signature: uploader: signature does not verify") {
		t.Errorf("verify --object of the edited manifest: exit %d, %s", code, stderr)
	}
}
