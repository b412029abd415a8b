package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"github.com/robfig/cron/v3"

	"github.com/mlsbackup/mlsbackup/uploader"
)

// Limits enforced by [Config.Validate].
const (
	MinPartSizeMiB  = 5    // S3's smallest multipart part
	MaxPartSizeMiB  = 5120 // S3's largest part (5 GiB)
	MaxConcurrency  = 64
	MaxAttempts     = 20
	MaxBodyBytes    = 64 << 20
	MaxEpochHistory = 1000
)

// FieldError is one validation problem, naming the field by its dotted
// YAML path.
type FieldError struct {
	Field   string // e.g. "destination.s3.bucket"
	Problem string // e.g. "required when type is s3"
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// Validate checks the configuration and returns every problem found,
// joined; each is a [*FieldError]. It touches neither files nor network.
func (c *Config) Validate() error {
	var v validator
	v.required("data_dir", c.DataDir)
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "text", "json")
	c.validateDestination(&v)
	c.validateEncryption(&v)
	c.validateSnapshot(&v)
	v.atLeast("retention.keep_last", int64(c.Retention.KeepLast), 1)
	if c.Retention.KeepWithin < 0 {
		v.add("retention.keep_within", "must not be negative")
	}
	if c.Retention.MaxAge < 0 {
		v.add("retention.max_age", "must not be negative")
	}
	v.between("store.epoch_retention", int64(c.Store.EpochRetention), 1, MaxEpochHistory)
	c.validateAgent(&v)
	c.validateMLS(&v)
	return errors.Join(v.errs...)
}

func (c *Config) validateDestination(v *validator) {
	d := &c.Destination
	v.oneOf("destination.type", d.Type, DestinationDir, DestinationS3)
	if p := d.Prefix; p != "" {
		switch {
		case strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/"):
			v.add("destination.prefix", "must not start or end with '/'")
		case strings.Contains(p, "//"):
			v.add("destination.prefix", "must not contain an empty path segment")
		default:
			for _, seg := range strings.Split(p, "/") {
				if seg == "." || seg == ".." {
					v.add("destination.prefix", "must not contain '.' or '..' segments")
					break
				}
			}
		}
	}
	v.between("destination.inline_max", d.InlineMax, 0, MaxInlineBytes)
	if d.Type != DestinationS3 {
		return
	}
	s := &d.S3
	if s.Bucket == "" {
		v.add("destination.s3.bucket", "required when type is s3")
	} else if !validBucket(s.Bucket) {
		v.add("destination.s3.bucket", fmt.Sprintf("%q is not a valid bucket name (3-63 lowercase letters, digits, '.' and '-')", s.Bucket))
	}
	if s.Endpoint != "" {
		u, err := url.Parse(s.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add("destination.s3.endpoint", fmt.Sprintf("%q is not an http:// or https:// URL", s.Endpoint))
		} else if u.User != nil {
			v.add("destination.s3.endpoint", "must not contain credentials; use access_key_id and secret_access_key")
		}
	}
	if s.AccessKeyID != "" && s.SecretAccessKey == "" {
		v.add("destination.s3.secret_access_key", "required when access_key_id is set")
	}
	if s.SecretAccessKey != "" && s.AccessKeyID == "" {
		v.add("destination.s3.access_key_id", "required when secret_access_key is set")
	}
	if s.SessionToken != "" && s.AccessKeyID == "" {
		v.add("destination.s3.session_token", "needs access_key_id and secret_access_key")
	}
	if s.Profile != "" && s.AccessKeyID != "" {
		v.add("destination.s3.profile", "cannot be combined with access_key_id; choose one source of credentials")
	}
	v.between("destination.s3.part_size_mib", int64(s.PartSizeMiB), MinPartSizeMiB, MaxPartSizeMiB)
	v.between("destination.s3.concurrency", int64(s.Concurrency), 1, MaxConcurrency)
	v.between("destination.s3.max_attempts", int64(s.MaxAttempts), 1, MaxAttempts)
}

func (c *Config) validateEncryption(v *validator) {
	for i, r := range c.Encryption.Recipients {
		if err := checkRecipient(r); err != nil {
			v.add(fmt.Sprintf("encryption.recipients[%d]", i), err.Error())
		}
	}
	for i, s := range c.Encryption.TrustedSigners {
		if _, err := uploader.ParseSigner(s); err != nil {
			v.add(fmt.Sprintf("encryption.trusted_signers[%d]", i), err.Error())
		}
	}
}

// checkRecipient reports whether s parses as a recipient mlsbackup can
// encrypt to: age X25519, age hybrid post-quantum, or an SSH public key.
func checkRecipient(s string) error {
	switch {
	case strings.HasPrefix(s, "ssh-"):
		if _, err := agessh.ParseRecipient(s); err != nil {
			return fmt.Errorf("not a usable SSH recipient: %v", err)
		}
	case strings.HasPrefix(s, "age1pq1"):
		if _, err := age.ParseHybridRecipient(s); err != nil {
			return fmt.Errorf("not a valid age recipient: %v", err)
		}
	case strings.HasPrefix(s, "age1"):
		if _, err := age.ParseX25519Recipient(s); err != nil {
			return fmt.Errorf("not a valid age recipient: %v", err)
		}
	case strings.HasPrefix(s, "AGE-SECRET-KEY-"):
		return errors.New("this is a private identity, not a recipient; use the age1… public key (mlsbackup keygen prints it)")
	default:
		return errors.New("want an age recipient (age1…) or an SSH public key (ssh-ed25519 …)")
	}
	return nil
}

func (c *Config) validateSnapshot(v *validator) {
	s := &c.Snapshot
	if s.Timezone == "" {
		v.add("snapshot.timezone", "required (e.g. UTC or Europe/Berlin)")
	} else if _, err := time.LoadLocation(s.Timezone); err != nil {
		v.add("snapshot.timezone", fmt.Sprintf("unknown time zone %q", s.Timezone))
	}
	if s.Cron != "" {
		if strings.HasPrefix(s.Cron, "CRON_TZ=") || strings.HasPrefix(s.Cron, "TZ=") {
			v.add("snapshot.cron", "set the zone in snapshot.timezone, not in the expression")
		} else if _, err := cron.ParseStandard(s.Cron); err != nil {
			v.add("snapshot.cron", fmt.Sprintf("%q: %v (five fields, or @hourly, @daily, @every 1h, ...)", s.Cron, err))
		}
	}
	v.between("snapshot.local_keep", int64(s.LocalKeep), 0, MaxEpochHistory)
	if s.Jitter < 0 {
		v.add("snapshot.jitter", "must not be negative")
	}
	if r := s.ReconcileInterval; r != 0 && r < MinReconcileInterval {
		v.add("snapshot.reconcile_interval", fmt.Sprintf("must be 0 (off) or at least %s, got %s", MinReconcileInterval, r))
	}
}

func (c *Config) validateAgent(v *validator) {
	a := &c.Agent
	if a.TCPListen != "" {
		if _, port, err := net.SplitHostPort(a.TCPListen); err != nil || port == "" {
			v.add("agent.tcp_listen", fmt.Sprintf("%q is not host:port", a.TCPListen))
		}
		if a.TokenFile == "" {
			v.add("agent.token_file", "required when tcp_listen is set (the TCP API needs a bearer token)")
		}
	}
	v.between("agent.max_body_bytes", a.MaxBodyBytes, 1, MaxBodyBytes)
	if a.MetricsListen != "" {
		if _, port, err := net.SplitHostPort(a.MetricsListen); err != nil || port == "" {
			v.add("agent.metrics_listen", fmt.Sprintf("%q is not host:port", a.MetricsListen))
		}
	}
	if a.OutboxKeep.Age < MinOutboxAge {
		v.add("agent.outbox_keep.age", fmt.Sprintf("must be at least %s, got %s", MinOutboxAge, a.OutboxKeep.Age))
	}
	v.between("agent.outbox_keep.entries", int64(a.OutboxKeep.Entries), 1, MaxOutboxEntries)
}

// validBucket applies S3's bucket naming rules.
func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 || strings.Contains(b, "..") {
		return false
	}
	for i := range len(b) {
		ch := b[i]
		switch {
		case ch >= 'a' && ch <= 'z', ch >= '0' && ch <= '9':
		case ch == '.' || ch == '-':
			if i == 0 || i == len(b)-1 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

type validator struct{ errs []error }

func (v *validator) add(field, problem string) {
	v.errs = append(v.errs, &FieldError{Field: field, Problem: problem})
}

func (v *validator) required(field, val string) {
	if val == "" {
		v.add(field, "required")
	}
}

func (v *validator) oneOf(field, val string, allowed ...string) {
	for _, a := range allowed {
		if val == a {
			return
		}
	}
	v.add(field, fmt.Sprintf("%q is not one of %s", val, strings.Join(allowed, ", ")))
}

func (v *validator) atLeast(field string, val, lo int64) {
	if val < lo {
		v.add(field, fmt.Sprintf("must be at least %d, got %d", lo, val))
	}
}

func (v *validator) between(field string, val, lo, hi int64) {
	if val < lo || val > hi {
		v.add(field, fmt.Sprintf("must be between %d and %d, got %d", lo, hi, val))
	}
}
