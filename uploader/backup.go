package uploader

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"filippo.io/age"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

// Options configure a [Backup]. Only what an operation needs must be set:
// uploads need Recipients and AgentID; Verify and Fetch need Identities;
// List needs neither.
type Options struct {
	// Prefix is the key prefix of this backup set inside the store, e.g.
	// "prod/alice". Leading and trailing slashes are ignored.
	Prefix string
	// Recipients encrypt uploads (see [ParseRecipient]).
	Recipients []age.Recipient
	// Identities decrypt for Verify and Fetch (see [ParseIdentitiesFile]).
	Identities []age.Identity
	// SigningKey signs every upload (see doc.go, "Signatures"). Without
	// one, Upload fails with [ErrNoSigningKey] unless AllowUnsigned is
	// set, and then writes the unsigned manifests of earlier versions.
	SigningKey *SigningKey
	// TrustedSigners are the signers whose objects List, Verify, Fetch
	// and restore accept; the SigningKey's own signer is always trusted.
	TrustedSigners []Signer
	// AllowUnsigned lets readers accept unsigned manifests (versions 1
	// and 2; the --allow-unsigned flag) and lets Upload write them
	// without a SigningKey. Insecure: anyone who can write to the bucket
	// can plant an unsigned snapshot.
	AllowUnsigned bool
	// AgentID names this agent in manifests and in the prefix's lease.
	// Writes (Upload, Prune) refuse to run without it.
	AgentID string
	// Host is recorded in the lease; default os.Hostname().
	Host string
	// TakeOver lets this agent take the prefix's lease from another agent
	// once, at its first write. See doc.go, "Lease".
	TakeOver bool
	// LeaseCheckInterval is how often, at most, a write re-reads the lease
	// to notice a takeover; default one minute.
	LeaseCheckInterval time.Duration
	// InlineMax: a snapshot whose encrypted form is at most InlineMax
	// bytes is stored inline, inside its manifest, with one conditional
	// write instead of two (see doc.go, "Inline snapshots"). 0 disables
	// inlining: every snapshot is a separate age file, which the age CLI
	// decrypts directly. At most [MaxInline]; [DefaultInlineMax] suits
	// many small snapshots.
	InlineMax int64
	// Concurrency bounds parallel manifest reads in List; default 8.
	Concurrency int
	// Logger receives one line per upload, prune deletion and lease
	// change; default discards. Secrets are never logged.
	Logger *slog.Logger
	// Progress receives transfer progress; default none.
	Progress Progress
	// Now is the clock; default time.Now.
	Now func() time.Time
	// FS is used by FetchFile; default the real file system.
	FS fsx.FS
}

// DefaultInlineMax is the recommended Options.InlineMax: snapshots of up
// to 64 KiB encrypted are stored inline.
const DefaultInlineMax = MaxInline

// Backup is a set of encrypted snapshots under one prefix of an
// [ObjectStore]. It is safe for concurrent use.
type Backup struct {
	store  ObjectStore
	opts   Options
	layout layout
	codec  codec
	chain  *chain
	log    *slog.Logger

	leaseMu    sync.Mutex
	leaseHeld  bool
	leaseCheck time.Time
	tookOver   bool
}

// New returns a Backup over store with opts.
func New(store ObjectStore, opts Options) (*Backup, error) {
	if store == nil {
		return nil, errors.New("uploader: nil object store")
	}
	if opts.InlineMax < 0 || opts.InlineMax > MaxInline {
		return nil, fmt.Errorf("uploader: inline max %d: want 0 to %d bytes", opts.InlineMax, MaxInline)
	}
	if opts.Host == "" {
		h, err := os.Hostname()
		if err != nil {
			h = "unknown"
		}
		opts.Host = h
	}
	if opts.LeaseCheckInterval <= 0 {
		opts.LeaseCheckInterval = time.Minute
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.Progress == nil {
		opts.Progress = noProgress{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.FS == nil {
		opts.FS = fsx.OS{}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := newLayout(opts.Prefix)
	return &Backup{store: store, opts: opts, layout: l, codec: newCodec(l, opts), chain: newChain(), log: log}, nil
}

// Signer returns the public key of Options.SigningKey, or the zero
// Signer if uploads are unsigned.
func (b *Backup) Signer() Signer {
	if b.codec.key == nil {
		return Signer{}
	}
	return b.codec.key.Public()
}

// String names the backup set for messages, e.g. "s3://bucket (prefix p)".
func (b *Backup) String() string {
	if b.layout.prefix == "" {
		return b.store.String()
	}
	return fmt.Sprintf("%s (prefix %s)", b.store, b.layout.prefix)
}
