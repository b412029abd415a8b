package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

func TestValidateErrors(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	s3 := func(c *Config) {
		c.Destination.Type = DestinationS3
		c.Destination.S3.Bucket = "backups"
	}
	tests := []struct {
		name      string
		mutate    func(*Config)
		field     string
		problem   string // substring
		forbidden string // must not appear in the error
	}{
		{"data dir", func(c *Config) { c.DataDir = "" }, "data_dir", "required", ""},
		{"log level", func(c *Config) { c.Log.Level = "loud" }, "log.level", `"loud" is not one of debug, info, warn, error`, ""},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, "log.format", `"xml" is not one of text, json`, ""},
		{"destination type", func(c *Config) { c.Destination.Type = "ftp" }, "destination.type", `"ftp" is not one of dir, s3`, ""},
		{"prefix leading slash", func(c *Config) { c.Destination.Prefix = "/a" }, "destination.prefix", "must not start or end with '/'", ""},
		{"prefix trailing slash", func(c *Config) { c.Destination.Prefix = "a/" }, "destination.prefix", "must not start or end with '/'", ""},
		{"prefix empty segment", func(c *Config) { c.Destination.Prefix = "a//b" }, "destination.prefix", "empty path segment", ""},
		{"prefix dot dot", func(c *Config) { c.Destination.Prefix = "a/../b" }, "destination.prefix", "'..'", ""},
		{"bucket required", func(c *Config) { c.Destination.Type = DestinationS3 }, "destination.s3.bucket", "required when type is s3", ""},
		{"bucket name", func(c *Config) { s3(c); c.Destination.S3.Bucket = "My_Bucket" }, "destination.s3.bucket", "not a valid bucket name", ""},
		{"bucket too short", func(c *Config) { s3(c); c.Destination.S3.Bucket = "ab" }, "destination.s3.bucket", "not a valid bucket name", ""},
		{"bucket dash end", func(c *Config) { s3(c); c.Destination.S3.Bucket = "abc-" }, "destination.s3.bucket", "not a valid bucket name", ""},
		{"endpoint scheme", func(c *Config) { s3(c); c.Destination.S3.Endpoint = "127.0.0.1:9000" }, "destination.s3.endpoint", "not an http:// or https:// URL", ""},
		{"endpoint credentials", func(c *Config) { s3(c); c.Destination.S3.Endpoint = "http://u:pw@h:9000" }, "destination.s3.endpoint", "must not contain credentials", ""},
		{"secret missing", func(c *Config) { s3(c); c.Destination.S3.AccessKeyID = "AK" }, "destination.s3.secret_access_key", "required when access_key_id is set", ""},
		{"key id missing", func(c *Config) { s3(c); c.Destination.S3.SecretAccessKey = "hunter2" }, "destination.s3.access_key_id", "required when secret_access_key is set", "hunter2"},
		{"session token alone", func(c *Config) { s3(c); c.Destination.S3.SessionToken = "tok3n" }, "destination.s3.session_token", "needs access_key_id", "tok3n"},
		{"profile and keys", func(c *Config) {
			s3(c)
			c.Destination.S3.Profile = "p"
			c.Destination.S3.AccessKeyID = "AK"
			c.Destination.S3.SecretAccessKey = "hunter2"
		}, "destination.s3.profile", "cannot be combined with access_key_id", "hunter2"},
		{"part size small", func(c *Config) { s3(c); c.Destination.S3.PartSizeMiB = 4 }, "destination.s3.part_size_mib", "between 5 and 5120, got 4", ""},
		{"part size large", func(c *Config) { s3(c); c.Destination.S3.PartSizeMiB = 6000 }, "destination.s3.part_size_mib", "between 5 and 5120", ""},
		{"concurrency", func(c *Config) { s3(c); c.Destination.S3.Concurrency = 0 }, "destination.s3.concurrency", "between 1 and 64, got 0", ""},
		{"max attempts", func(c *Config) { s3(c); c.Destination.S3.MaxAttempts = 21 }, "destination.s3.max_attempts", "between 1 and 20, got 21", ""},
		{"recipient garbage", func(c *Config) { c.Encryption.Recipients = []string{id.Recipient().String(), "bob"} }, "encryption.recipients[1]", "want an age recipient", ""},
		{"recipient bad age", func(c *Config) { c.Encryption.Recipients = []string{"age1notvalid"} }, "encryption.recipients[0]", "not a valid age recipient", ""},
		{"recipient bad ssh", func(c *Config) { c.Encryption.Recipients = []string{"ssh-ed25519 AAAA"} }, "encryption.recipients[0]", "not a usable SSH recipient", ""},
		{"recipient is identity", func(c *Config) { c.Encryption.Recipients = []string{id.String()} }, "encryption.recipients[0]", "private identity, not a recipient", id.String()},
		{"trusted signer garbage", func(c *Config) { c.Encryption.TrustedSigners = []string{"ed25519:AAAA"} }, "encryption.trusted_signers[0]", "want ed25519:<base64 of 32 bytes>", ""},
		{"trusted signer is secret", func(c *Config) {
			c.Encryption.TrustedSigners = []string{"MLSBACKUP-SIGNING-KEY-ED25519:c2VjcmV0LXNpZ25pbmcta2V5LXNlZWQtMzItYnl0ZXM="}
		}, "encryption.trusted_signers[0]", "secret signing key, not a signer", "c2VjcmV0"},
		{"timezone empty", func(c *Config) { c.Snapshot.Timezone = "" }, "snapshot.timezone", "required", ""},
		{"timezone unknown", func(c *Config) { c.Snapshot.Timezone = "Mars/Olympus" }, "snapshot.timezone", `unknown time zone "Mars/Olympus"`, ""},
		{"cron fields", func(c *Config) { c.Snapshot.Cron = "* * *" }, "snapshot.cron", `"* * *"`, ""},
		{"cron descriptor", func(c *Config) { c.Snapshot.Cron = "@fortnightly" }, "snapshot.cron", "@fortnightly", ""},
		{"cron zone", func(c *Config) { c.Snapshot.Cron = "CRON_TZ=UTC 0 * * * *" }, "snapshot.cron", "snapshot.timezone", ""},
		{"inline max", func(c *Config) { c.Destination.InlineMax = 1 << 20 }, "destination.inline_max", "between 0 and 65536, got 1048576", ""},
		{"local keep", func(c *Config) { c.Snapshot.LocalKeep = -1 }, "snapshot.local_keep", "between 0 and 1000, got -1", ""},
		{"jitter", func(c *Config) { c.Snapshot.Jitter = -time.Second }, "snapshot.jitter", "must not be negative", ""},
		{"reconcile negative", func(c *Config) { c.Snapshot.ReconcileInterval = -time.Hour }, "snapshot.reconcile_interval", "must be 0 (off) or at least 1m0s, got -1h0m0s", ""},
		{"reconcile too often", func(c *Config) { c.Snapshot.ReconcileInterval = time.Second }, "snapshot.reconcile_interval", "at least 1m0s, got 1s", ""},
		{"keep last", func(c *Config) { c.Retention.KeepLast = 0 }, "retention.keep_last", "at least 1, got 0", ""},
		{"keep within", func(c *Config) { c.Retention.KeepWithin = -time.Hour }, "retention.keep_within", "must not be negative", ""},
		{"max age", func(c *Config) { c.Retention.MaxAge = -time.Hour }, "retention.max_age", "must not be negative", ""},
		{"epoch retention", func(c *Config) { c.Store.EpochRetention = 0 }, "store.epoch_retention", "between 1 and 1000, got 0", ""},
		{"tcp listen", func(c *Config) { c.Agent.TCPListen = "localhost"; c.Agent.TokenFile = "/t" }, "agent.tcp_listen", `"localhost" is not host:port`, ""},
		{"token file", func(c *Config) { c.Agent.TCPListen = "127.0.0.1:7070" }, "agent.token_file", "required when tcp_listen is set", ""},
		{"max body", func(c *Config) { c.Agent.MaxBodyBytes = 0 }, "agent.max_body_bytes", "between 1 and 67108864, got 0", ""},
		{"outbox age", func(c *Config) { c.Agent.OutboxKeep.Age = time.Second }, "agent.outbox_keep.age", "at least 1m0s, got 1s", ""},
		{"outbox entries", func(c *Config) { c.Agent.OutboxKeep.Entries = 0 }, "agent.outbox_keep.entries", "between 1 and 1000000, got 0", ""},
		{"metrics listen", func(c *Config) { c.Agent.MetricsListen = "9464" }, "agent.metrics_listen", `"9464" is not host:port`, ""},
		{"credential type", func(c *Config) { c.MLS.Credential.Type = "x.509" }, "mls.credential.type", `"x.509" is not one of basic, x509`, ""},
		{"x509 without chain", func(c *Config) { c.MLS.Credential = Credential{Type: CredentialX509, Key: "k.pem"} }, "mls.credential.cert_chain", "required when type is x509", ""},
		{"x509 without key", func(c *Config) { c.MLS.Credential = Credential{Type: CredentialX509, CertChain: "c.pem"} }, "mls.credential.key", "required when type is x509", ""},
		{"basic with chain", func(c *Config) { c.MLS.Credential.CertChain = "c.pem" }, "mls.credential.type", "use type x509", ""},
		{"capability name", func(c *Config) { c.MLS.Capabilities.Credentials = []string{"basic", "pgp"} }, "mls.capabilities.credentials[1]", `"pgp" is not one of basic, x509`, ""},
		{"capabilities without own", func(c *Config) { c.MLS.Capabilities.Credentials = []string{"x509"} }, "mls.capabilities.credentials", "must include basic", ""},
		{"extension not implemented", func(c *Config) { c.MLS.Capabilities.Extensions = []uint16{0x000a} }, "mls.capabilities", "0x000a is not implemented", ""},
		{"default proposal listed", func(c *Config) { c.MLS.Capabilities.Proposals = []uint16{1} }, "mls.capabilities", "default one", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(c)
			err := c.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil, want %s: %s", tt.field, tt.problem)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate() = %v, want a *FieldError", err)
			}
			if fe.Field != tt.field || !strings.Contains(fe.Problem, tt.problem) {
				t.Errorf("Validate() = %q, want field %s with problem containing %q", err, tt.field, tt.problem)
			}
			if want := tt.field + ": "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q does not start with %q", err, want)
			}
			if tt.forbidden != "" && strings.Contains(err.Error(), tt.forbidden) {
				t.Errorf("error %q reveals %q", err, tt.forbidden)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Default()
	c.DataDir = ""
	c.Log.Level = "x"
	c.Destination.Type = DestinationS3
	err := c.Validate()
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		got = append(got, e.(*FieldError).Field)
	}
	want := []string{"data_dir", "log.level", "destination.s3.bucket"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("fields = %v, want %v", got, want)
	}
}

func TestValidateAccepts(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	pq, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	const sshKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN user@host"
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"s3 minimal", func(c *Config) { c.Destination.Type = DestinationS3; c.Destination.S3.Bucket = "backups" }},
		{"s3 minio", func(c *Config) {
			c.Destination.Type = DestinationS3
			c.Destination.S3 = S3Destination{Bucket: "b.example-1", Endpoint: "https://minio.local:9000", PathStyle: true,
				AccessKeyID: "AK", SecretAccessKey: "SK", SessionToken: "T", PartSizeMiB: 5, Concurrency: 64, MaxAttempts: 1}
		}},
		{"s3 settings ignored for dir", func(c *Config) { c.Destination.S3.PartSizeMiB = 0 }},
		{"empty prefix", func(c *Config) { c.Destination.Prefix = "" }},
		{"nested prefix", func(c *Config) { c.Destination.Prefix = "a/b.c/d" }},
		{"recipients", func(c *Config) {
			c.Encryption.Recipients = []string{id.Recipient().String(), pq.Recipient().String(), sshKey}
		}},
		{"cron five fields", func(c *Config) { c.Snapshot.Cron = "15 3 * * 1-5" }},
		{"cron descriptor", func(c *Config) { c.Snapshot.Cron = "@every 6h" }},
		{"timezone", func(c *Config) { c.Snapshot.Timezone = "Europe/Berlin" }},
		{"no every-epochs", func(c *Config) { c.Snapshot.EveryEpochs = 0 }},
		{"no periodic reconcile", func(c *Config) { c.Snapshot.ReconcileInterval = 0 }},
		{"reconcile every minute", func(c *Config) { c.Snapshot.ReconcileInterval = time.Minute }},
		{"tcp with token", func(c *Config) { c.Agent.TCPListen = "127.0.0.1:0"; c.Agent.TokenFile = "/t" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(c)
			if err := c.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}
