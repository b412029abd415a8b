package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) LookupFunc {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func parse(t *testing.T, doc string, vars map[string]string) (*Config, error) {
	t.Helper()
	return ParseEnv(strings.NewReader(doc), env(vars))
}

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v, want nil", err)
	}
	if got, want := c.BucketDir(), filepath.Join("mlsbackup-data", "bucket"); got != want {
		t.Errorf("BucketDir() = %q, want %q", got, want)
	}
	if got, want := c.SocketPath(), filepath.Join("mlsbackup-data", "agent.sock"); got != want {
		t.Errorf("SocketPath() = %q, want %q", got, want)
	}
	if got, want := c.PartSizeBytes(), int64(16<<20); got != want {
		t.Errorf("PartSizeBytes() = %d, want %d", got, want)
	}
	if got, want := c.Snapshot.ReconcileInterval, time.Hour; got != want {
		t.Errorf("snapshot.reconcile_interval = %s, want %s", got, want)
	}
}

func TestParseEmptyGivesDefaults(t *testing.T) {
	for _, doc := range []string{"", "  \n\n", "# only a comment\n", "~\n", "---\n"} {
		got, err := parse(t, doc, nil)
		if err != nil {
			t.Fatalf("Parse(%q): %v", doc, err)
		}
		if !reflect.DeepEqual(got, Default()) {
			t.Errorf("Parse(%q) = %+v, want Default()", doc, got)
		}
	}
}

func TestParseOverlaysDefaults(t *testing.T) {
	got, err := parse(t, "log:\n  level: debug\nsnapshot:\n  every_epochs: 3\nstore:\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Log.Level = "debug"
	want.Snapshot.EveryEpochs = 3
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

const fullDoc = `
data_dir: /var/lib/mlsbackup
client_name: alice@example.org
log: {level: warn, format: json}
destination:
  type: s3
  prefix: team/backups
  inline_max: 4096
  dir: {path: /srv/bucket}
  s3:
    bucket: my-bucket
    region: eu-central-1
    endpoint: http://127.0.0.1:9000
    path_style: true
    profile: ""
    access_key_id: AKIDEXAMPLE
    secret_access_key: s3cr3t
    session_token: tok
    part_size_mib: 64
    concurrency: 8
    max_attempts: 7
encryption:
  recipients: [age1aaa, "ssh-ed25519 AAAA"]
  recipients_file: /etc/mlsbackup/recipients.txt
  identity_file: /root/identity.txt
  signing_key_file: /etc/mlsbackup/signing-key
  trusted_signers: ["ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]
  allow_unsigned: true
snapshot:
  every_epochs: 25
  cron: "@hourly"
  timezone: Europe/Berlin
  before_remove: false
  local_keep: 2
  jitter: 1m30s
  reconcile_interval: 30m
retention: {keep_last: 3, keep_within: 48h}
store: {epoch_retention: 4}
agent:
  socket: /run/mlsbackup.sock
  tcp_listen: 127.0.0.1:7070
  token_file: /etc/mlsbackup/token
  max_body_bytes: 2048
  outbox_keep: {age: 2h, entries: 500}
mls:
  credential: {type: x509, cert_chain: /etc/mlsbackup/chain.pem, key: /etc/mlsbackup/key.pem}
  x509_roots: /etc/mlsbackup/roots.pem
  capabilities: {credentials: [x509, basic], extensions: [0x0a0a], proposals: [0xeaea]}
`

func TestParseFull(t *testing.T) {
	got, err := parse(t, fullDoc, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		DataDir:    "/var/lib/mlsbackup",
		ClientName: "alice@example.org",
		Log:        Log{Level: "warn", Format: "json"},
		Destination: Destination{
			Type: "s3", Prefix: "team/backups", InlineMax: 4096,
			Dir: DirDestination{Path: "/srv/bucket"},
			S3: S3Destination{
				Bucket: "my-bucket", Region: "eu-central-1",
				Endpoint: "http://127.0.0.1:9000", PathStyle: true,
				AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "s3cr3t", SessionToken: "tok",
				PartSizeMiB: 64, Concurrency: 8, MaxAttempts: 7,
			},
		},
		Encryption: Encryption{
			Recipients:     []string{"age1aaa", "ssh-ed25519 AAAA"},
			RecipientsFile: "/etc/mlsbackup/recipients.txt",
			IdentityFile:   "/root/identity.txt",
			SigningKeyFile: "/etc/mlsbackup/signing-key",
			TrustedSigners: []string{"ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
			AllowUnsigned:  true,
		},
		Snapshot: Snapshot{
			EveryEpochs: 25, Cron: "@hourly", Timezone: "Europe/Berlin",
			BeforeRemove: false, LocalKeep: 2, Jitter: 90 * time.Second,
			ReconcileInterval: 30 * time.Minute,
		},
		Retention: Retention{KeepLast: 3, KeepWithin: 48 * time.Hour},
		Store:     Store{EpochRetention: 4},
		Agent: Agent{
			Socket: "/run/mlsbackup.sock", TCPListen: "127.0.0.1:7070",
			TokenFile: "/etc/mlsbackup/token", MaxBodyBytes: 2048,
			OutboxKeep: OutboxKeep{Age: 2 * time.Hour, Entries: 500},
		},
		MLS: MLS{
			Credential:   Credential{Type: "x509", CertChain: "/etc/mlsbackup/chain.pem", Key: "/etc/mlsbackup/key.pem"},
			X509Roots:    "/etc/mlsbackup/roots.pem",
			Capabilities: Capabilities{Credentials: []string{"x509", "basic"}, Extensions: []uint16{0x0a0a}, Proposals: []uint16{0xeaea}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if got.BucketDir() != "/srv/bucket" || got.SocketPath() != "/run/mlsbackup.sock" {
		t.Errorf("BucketDir/SocketPath = %q/%q, want the configured paths", got.BucketDir(), got.SocketPath())
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // substrings of the error
	}{
		{"unknown top-level key", "data_dir: x\ndatadir: y\n", []string{"line 2: unknown key datadir"}},
		{"unknown nested key", "log:\n  level: info\n  lvl: debug\n", []string{"line 3: unknown key log.lvl"}},
		{"unknown deep key", "destination:\n  s3:\n    bukket: b\n", []string{"line 3: unknown key destination.s3.bukket"}},
		{"every unknown key reported", "foo: 1\nlog: {bar: 2}\n", []string{"line 1: unknown key foo", "line 2: unknown key log.bar"}},
		{"not a mapping", "- a\n- b\n", []string{"line 1: document: want a mapping"}},
		{"section not a mapping", "log: loud\n", []string{"line 1: log: want a mapping"}},
		{"string for integer", "snapshot:\n  every_epochs: often\n", []string{`line 2: snapshot.every_epochs: want a whole number ≥ 0, got "often"`}},
		{"negative unsigned", "snapshot: {every_epochs: -1}\n", []string{"snapshot.every_epochs: want a whole number ≥ 0"}},
		{"bad duration", "snapshot: {jitter: soon}\n", []string{`snapshot.jitter: want a duration such as 30s, 15m or 720h, got "soon"`}},
		{"duration without unit", "retention: {keep_within: 30}\n", []string{"retention.keep_within: want a duration with a unit"}},
		{"bad bool", "snapshot: {before_remove: maybe}\n", []string{`snapshot.before_remove: want true or false, got "maybe"`}},
		{"list for scalar", "data_dir: [a, b]\n", []string{"line 1: data_dir: want a single value"}},
		{"scalar for list", "encryption: {recipients: age1x}\n", []string{"encryption.recipients: want a list"}},
		{"mapping in list", "encryption: {recipients: [{a: b}]}\n", []string{"encryption.recipients[0]: want a single value"}},
		{"secret of wrong type not echoed", "destination: {s3: {secret_access_key: [hunter2]}}\n", []string{"destination.s3.secret_access_key: want a single value"}},
		{"unset variable", "data_dir: ${NOPE}/x\n", []string{"line 1: data_dir: environment variable NOPE is not set"}},
		{"bad variable name", "data_dir: ${1abc}\n", []string{"data_dir: bad environment variable reference ${1abc}"}},
		{"unterminated reference", "data_dir: ${HOME\n", []string{"data_dir: unterminated ${"}},
		{"alias", "log: &l {level: info}\nlogx: *l\n", []string{"unknown key logx"}},
		{"alias value", "data_dir: &d x\nidentity: *d\n", []string{"identity: YAML aliases are not supported"}},
		{"syntax error", "log: {level: info\n", []string{"parse: yaml:"}},
		{"duplicate key", "data_dir: a\ndata_dir: b\n", []string{`mapping key "data_dir" already defined`}},
		{"too large", "data_dir: " + strings.Repeat("a", MaxFileSize) + "\n", []string{"larger than 1 MiB"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.doc, map[string]string{"HOME": "/home/x"})
			if err == nil {
				t.Fatalf("Parse succeeded, want error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q reveals a secret", err)
			}
		})
	}
}

func TestEnvExpansion(t *testing.T) {
	vars := map[string]string{"DIR": "/data", "BUCKET": "b1", "PARTS": "32", "EMPTY": "", "SECRET": "p@$$"}
	tests := []struct {
		name string
		doc  string
		get  func(*Config) any
		want any
	}{
		{"braces", "data_dir: ${DIR}/mls\n", func(c *Config) any { return c.DataDir }, "/data/mls"},
		{"bare", "data_dir: $DIR/mls\n", func(c *Config) any { return c.DataDir }, "/data/mls"},
		{"quoted", `data_dir: "${DIR}"` + "\n", func(c *Config) any { return c.DataDir }, "/data"},
		{"fallback unused", "data_dir: ${DIR:-/other}\n", func(c *Config) any { return c.DataDir }, "/data"},
		{"fallback used", "data_dir: ${UNSET:-/other}\n", func(c *Config) any { return c.DataDir }, "/other"},
		{"fallback for empty", "data_dir: ${EMPTY:-/other}\n", func(c *Config) any { return c.DataDir }, "/other"},
		{"empty allowed", "client_name: ${UNSET:-}\n", func(c *Config) any { return c.ClientName }, ""},
		{"set but empty", "client_name: ${EMPTY}\n", func(c *Config) any { return c.ClientName }, ""},
		{"dollar escape", "client_name: a$$b\n", func(c *Config) any { return c.ClientName }, "a$b"},
		{"value not re-expanded", "destination: {s3: {secret_access_key: $SECRET}}\n", func(c *Config) any { return c.Destination.S3.SecretAccessKey }, "p@$$"},
		{"number", "destination:\n  s3:\n    part_size_mib: ${PARTS}\n", func(c *Config) any { return c.Destination.S3.PartSizeMiB }, 32},
		{"nested", "destination: {s3: {bucket: $BUCKET}}\n", func(c *Config) any { return c.Destination.S3.Bucket }, "b1"},
		{"list item", "encryption: {recipients: [$BUCKET]}\n", func(c *Config) any { return c.Encryption.Recipients }, []string{"b1"}},
		{"keys not expanded", "data_dir: plain\n", func(c *Config) any { return c.DataDir }, "plain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse(t, tt.doc, vars)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.get(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestParseUsesProcessEnvironment(t *testing.T) {
	t.Setenv("MLSBACKUP_TEST_DIR", "/from/env")
	c, err := Parse(strings.NewReader("data_dir: ${MLSBACKUP_TEST_DIR}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/from/env" {
		t.Errorf("DataDir = %q, want /from/env", c.DataDir)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("client_name: bob\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	if c.ClientName != "bob" {
		t.Errorf("ClientName = %q, want bob", c.ClientName)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("identiy: bob\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad)
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "line 1: unknown key identiy") {
		t.Errorf("Load(bad) error = %v, want it to name the file and the key", err)
	}

	_, err = Load(filepath.Join(dir, "missing.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) error = %v, want os.ErrNotExist", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(fullDoc)
	f.Add("log: {level: ${X:-info}}\n")
	f.Add("data_dir: $$\n")
	f.Fuzz(func(t *testing.T, doc string) {
		c, err := ParseEnv(strings.NewReader(doc), env(map[string]string{"X": "y"}))
		if err == nil {
			_ = c.Validate()
		}
	})
}

// TestIdentityKeyIsClientNameOldName is issue 15's naming confusion:
// "identity" was the MLS client name beside encryption.identity_file, the
// age identity. client_name is the key now; the old one is still read,
// moved to ClientName and reported by Deprecated; both disagreeing is an
// error.
func TestIdentityKeyIsClientNameOldName(t *testing.T) {
	c, err := Parse(strings.NewReader("identity: bob\n"))
	if err != nil || c.ClientName != "bob" || c.Identity != "" || len(c.Deprecated()) != 1 ||
		!strings.Contains(c.Deprecated()[0], "client_name") {
		t.Fatalf("old key: %+v, %v, deprecated %q", c, err, c.Deprecated())
	}
	c, err = Parse(strings.NewReader("client_name: bob\n"))
	if err != nil || c.ClientName != "bob" || len(c.Deprecated()) != 0 {
		t.Fatalf("new key: %v, deprecated %q", err, c.Deprecated())
	}
	if _, err := Parse(strings.NewReader("client_name: bob\nidentity: bob\n")); err != nil {
		t.Errorf("both agreeing: %v", err)
	}
	if _, err := Parse(strings.NewReader("client_name: bob\nidentity: alice\n")); err == nil || !strings.Contains(err.Error(), "disagree") {
		t.Errorf("both disagreeing: %v", err)
	}
}
