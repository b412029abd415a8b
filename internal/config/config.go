package config

import (
	"path/filepath"
	"time"
)

// Destination types accepted in destination.type.
const (
	// DestinationDir stores backups in a local directory.
	DestinationDir = "dir"
	// DestinationS3 stores backups in an S3-compatible bucket.
	DestinationS3 = "s3"
)

// Config is the whole configuration file. The yaml tags are the schema; the
// configuration reference, docs/configuration.md, documents every key.
type Config struct {
	// DataDir holds the local state: MLS groups, WAL, local snapshots, lock.
	DataDir string `yaml:"data_dir"`
	// ClientName is this agent's MLS client name (its basic credential's
	// identity bytes, as UTF-8); it also names the agent in manifests and
	// the prefix's lease. Empty until the agent needs one.
	ClientName string `yaml:"client_name"`
	// Identity is the old name of ClientName, still read (see
	// [Config.Deprecated]); Parse moves it to ClientName. Not to be
	// confused with the age identity of encryption.identity_file.
	Identity string `yaml:"identity,omitempty"`
	// Log configures the structured log written to stderr.
	Log Log `yaml:"log"`
	// Destination is where encrypted snapshots are uploaded.
	Destination Destination `yaml:"destination"`
	// Encryption names the age recipients (and, for restore, the identity).
	Encryption Encryption `yaml:"encryption"`
	// Snapshot says when snapshots are taken.
	Snapshot Snapshot `yaml:"snapshot"`
	// Retention says which remote snapshots prune keeps.
	Retention Retention `yaml:"retention"`
	// Store configures the local file store.
	Store Store `yaml:"store"`
	// Agent configures the agent's local API.
	Agent Agent `yaml:"agent"`
	// MLS configures the agent's MLS client: its credential, the trust
	// anchors of others' credentials and what it advertises.
	MLS MLS `yaml:"mls"`

	// deprecated notes the keys read under an old name ([Config.Deprecated]).
	deprecated []string
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is text or json.
	Format string `yaml:"format"`
}

// Destination is the remote object store.
type Destination struct {
	// Type is [DestinationDir] or [DestinationS3].
	Type string `yaml:"type"`
	// Prefix is prepended (with a '/') to every object key.
	Prefix string `yaml:"prefix"`
	// InlineMax: a snapshot whose encrypted form is at most this many
	// bytes is stored inside its manifest (snapshot.json), one write
	// instead of two and one read instead of two on restore; 0 stores
	// every snapshot as a separate age file (snapshot.age). At most
	// [MaxInlineBytes].
	InlineMax int64 `yaml:"inline_max"`
	// Dir configures the local directory store.
	Dir DirDestination `yaml:"dir"`
	// S3 configures the S3 store.
	S3 S3Destination `yaml:"s3"`
}

// DirDestination is a local directory used as a bucket.
type DirDestination struct {
	// Path of the directory; empty means <data_dir>/bucket
	// (see [Config.BucketDir]).
	Path string `yaml:"path"`
}

// S3Destination is an S3-compatible bucket (AWS S3, MinIO, versitygw).
type S3Destination struct {
	// Bucket name; required when the destination type is s3.
	Bucket string `yaml:"bucket"`
	// Region; empty lets the SDK's chain decide (AWS_REGION, profile).
	Region string `yaml:"region"`
	// Endpoint is a custom endpoint URL (MinIO); empty means AWS.
	Endpoint string `yaml:"endpoint"`
	// PathStyle addresses the bucket as endpoint/bucket (needed by MinIO).
	PathStyle bool `yaml:"path_style"`
	// Profile selects a shared-config profile (~/.aws/config).
	Profile string `yaml:"profile"`
	// AccessKeyID is a static access key; empty uses the SDK's credential
	// chain (environment, shared config, web identity, instance role).
	AccessKeyID string `yaml:"access_key_id"`
	// SecretAccessKey belongs to AccessKeyID. Secret: never printed.
	SecretAccessKey string `yaml:"secret_access_key"`
	// SessionToken for temporary static credentials. Secret: never printed.
	SessionToken string `yaml:"session_token"`
	// PartSizeMiB is the multipart upload part size (5..5120).
	PartSizeMiB int `yaml:"part_size_mib"`
	// Concurrency is the number of parts or objects in flight (1..64).
	Concurrency int `yaml:"concurrency"`
	// MaxAttempts bounds the tries of one request, the first included
	// (1..20); only transient errors are retried.
	MaxAttempts int `yaml:"max_attempts"`
}

// Encryption configures age.
type Encryption struct {
	// Recipients are age X25519 (age1…) or SSH (ssh-ed25519 …) public keys.
	Recipients []string `yaml:"recipients"`
	// RecipientsFile is a file of recipients, one per line, as written by
	// age-keygen or mlsbackup keygen.
	RecipientsFile string `yaml:"recipients_file"`
	// IdentityFile holds the private age identity. Needed only by verify,
	// fetch and restore; the agent never needs it.
	IdentityFile string `yaml:"identity_file"`
	// SigningKeyFile holds the agent's Ed25519 signing key (mode 0600,
	// written by mlsbackup keygen), which signs every upload and cannot
	// decrypt anything. The environment variable MLSBACKUP_SIGNING_KEY,
	// holding the key line itself, takes precedence. The agent refuses to
	// start without one unless AllowUnsigned is set.
	SigningKeyFile string `yaml:"signing_key_file"`
	// TrustedSigners are the public keys ("ed25519:…") whose signatures
	// restore, verify, list and fetch accept, besides those named by the
	// identity file's "# trusted-signer:" lines. Several at once allow a
	// key rotation.
	TrustedSigners []string `yaml:"trusted_signers"`
	// AllowUnsigned lets the agent run without a signing key, uploading
	// in the unsigned format of earlier versions. Insecure: anyone who
	// can write to the bucket can then plant a snapshot, and restoring
	// such backups needs --allow-unsigned.
	AllowUnsigned bool `yaml:"allow_unsigned"`
}

// SigningKeyEnv is the environment variable that holds the agent's
// signing key line; it takes precedence over encryption.signing_key_file.
const SigningKeyEnv = "MLSBACKUP_SIGNING_KEY"

// Snapshot configures when snapshots are taken.
type Snapshot struct {
	// EveryEpochs snapshots a group at every multiple of this epoch; 0
	// disables the trigger.
	EveryEpochs uint64 `yaml:"every_epochs"`
	// Cron is a five-field cron expression or a descriptor (@hourly);
	// empty disables the trigger.
	Cron string `yaml:"cron"`
	// Timezone is the IANA zone the cron expression is read in.
	Timezone string `yaml:"timezone"`
	// BeforeRemove snapshots a group before a removal commit is created.
	BeforeRemove bool `yaml:"before_remove"`
	// LocalKeep is how many local epoch_<N>.snapshot files are kept at
	// most per group (a copy goes once the group leaves its epoch, so in
	// practice only the current epoch's stays); 0 keeps no local copies
	// (snapshots are only uploaded), which saves about a third of the
	// agent's CPU and six fsyncs per group in a snapshot pass.
	LocalKeep int `yaml:"local_keep"`
	// Jitter delays scheduled snapshots by a random duration up to this.
	Jitter time.Duration `yaml:"jitter"`
	// ReconcileInterval is how often the agent lists the destination and
	// uploads again every group whose newest snapshot is missing there
	// (it also does so at start); 0 turns the periodic check off. At
	// least [MinReconcileInterval] otherwise.
	ReconcileInterval time.Duration `yaml:"reconcile_interval"`
}

// Retention says which remote snapshots are kept, by `prune` and by the
// agent after its snapshot passes and reconciliations. A snapshot is kept
// if either rule keeps it and MaxAge does not delete it; the newest
// complete snapshot of a group is always kept, unless MaxAge deletes it
// in a group this agent no longer holds.
type Retention struct {
	// KeepLast keeps the newest N snapshots of each group.
	KeepLast int `yaml:"keep_last"`
	// KeepWithin keeps every snapshot younger than this; 0 disables.
	KeepWithin time.Duration `yaml:"keep_within"`
	// MaxAge deletes every snapshot older than this, over KeepLast and
	// KeepWithin, except the newest of a group the agent still holds: it
	// bounds how long the destination keeps a member's secrets. 0
	// disables.
	MaxAge time.Duration `yaml:"max_age"`
}

// Store configures the local file store.
type Store struct {
	// EpochRetention is how many past epochs' secrets are kept for late
	// messages, besides the current epoch's (see [Store.RetainedEpochs]).
	EpochRetention int `yaml:"epoch_retention"`
}

// RetainedEpochs is how many epochs keep their secrets, the current one
// included: the EpochRetention past epochs and the current one. It is the
// count engine.Options.RetainEpochs and localstore.Options.EpochRetention
// take.
func (s Store) RetainedEpochs() int { return s.EpochRetention + 1 }

// Agent configures the agent's local HTTP/JSON API.
type Agent struct {
	// Socket is the unix socket path; empty means <data_dir>/agent.sock
	// (see [Config.SocketPath]).
	Socket string `yaml:"socket"`
	// TCPListen is an optional host:port listener; it requires TokenFile.
	TCPListen string `yaml:"tcp_listen"`
	// TokenFile holds the bearer token required on the TCP listener.
	TokenFile string `yaml:"token_file"`
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MetricsListen is an optional host:port serving only GET /metrics and
	// GET /healthz, without a token (the Prometheus exporter convention).
	MetricsListen string `yaml:"metrics_listen"`
	// OutboxKeep bounds the results of mutating calls the agent keeps
	// until the application acknowledges them (the outbox, see docs/api.md).
	OutboxKeep OutboxKeep `yaml:"outbox_keep"`
}

// OutboxKeep bounds the outbox: an unacknowledged result is dropped once
// it is older than Age or when more than Entries are kept (oldest first).
type OutboxKeep struct {
	Age     time.Duration `yaml:"age"`
	Entries int           `yaml:"entries"`
}

// Bounds of agent.outbox_keep.
const (
	MinOutboxAge     = time.Minute
	MaxOutboxEntries = 1_000_000
)

// DefaultReconcileInterval is the default of snapshot.reconcile_interval.
const DefaultReconcileInterval = time.Hour

// MinReconcileInterval is the shortest snapshot.reconcile_interval other
// than 0: each check lists the whole destination.
const MinReconcileInterval = time.Minute

// MaxInlineBytes bounds destination.inline_max (the uploader's limit for
// snapshots stored inside their manifest) and is its default.
const MaxInlineBytes = 64 << 10

// Default returns the configuration used when no file is given. It is
// valid as is.
func Default() *Config {
	return &Config{
		DataDir: "./mlsbackup-data",
		Log:     Log{Level: "info", Format: "text"},
		Destination: Destination{
			Type:      DestinationDir,
			Prefix:    "mlsbackup",
			InlineMax: MaxInlineBytes,
			S3: S3Destination{
				PartSizeMiB: 16,
				Concurrency: 4,
				MaxAttempts: 5,
			},
		},
		Encryption: Encryption{Recipients: []string{}, TrustedSigners: []string{}},
		Snapshot: Snapshot{
			EveryEpochs:  10,
			Timezone:     "UTC",
			BeforeRemove: true,
			LocalKeep:    5,
			Jitter:       30 * time.Second,

			ReconcileInterval: DefaultReconcileInterval,
		},
		Retention: Retention{KeepLast: 10, KeepWithin: 720 * time.Hour},
		Store:     Store{EpochRetention: 10},
		Agent:     Agent{MaxBodyBytes: 1 << 20, OutboxKeep: OutboxKeep{Age: 24 * time.Hour, Entries: 10_000}},
		MLS:       MLS{Credential: Credential{Type: CredentialBasic}},
	}
}

// BucketDir is the directory of the local directory destination:
// destination.dir.path, or <data_dir>/bucket when that is empty.
func (c *Config) BucketDir() string {
	if c.Destination.Dir.Path != "" {
		return c.Destination.Dir.Path
	}
	return filepath.Join(c.DataDir, "bucket")
}

// SocketPath is the agent's unix socket: agent.socket, or
// <data_dir>/agent.sock when that is empty.
func (c *Config) SocketPath() string {
	if c.Agent.Socket != "" {
		return c.Agent.Socket
	}
	return filepath.Join(c.DataDir, "agent.sock")
}

// PartSizeBytes is destination.s3.part_size_mib in bytes.
func (c *Config) PartSizeBytes() int64 {
	return int64(c.Destination.S3.PartSizeMiB) << 20
}
