package agent

import (
	"context"
	"fmt"

	"filippo.io/age"

	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/dirstore"
	"github.com/mlsbackup/mlsbackup/uploader/s3store"
)

// openBackup builds the backup set from the destination and recipients of
// cfg, unless [Options] supplies them.
func (a *Agent) openBackup(ctx context.Context, cfg *config.Config) (*uploader.Backup, error) {
	store := a.opts.Store
	if store == nil {
		var err error
		if store, err = OpenDestination(ctx, cfg); err != nil {
			return nil, err
		}
	}
	a.dest = store
	rs := a.opts.Recipients
	if rs == nil {
		var err error
		if rs, err = Recipients(cfg); err != nil {
			return nil, err
		}
	}
	key := a.opts.SigningKey
	if key == nil {
		var err error
		if key, err = LoadSigningKey(cfg, nil); err != nil {
			return nil, err
		}
	}
	switch {
	case key == nil && !cfg.Encryption.AllowUnsigned:
		return nil, ErrNoSigningKey
	case key == nil:
		a.log.Warn("no signing key: uploads are unsigned (encryption.allow_unsigned); anyone who can write to the destination can plant a snapshot, and restoring needs --allow-unsigned")
	}
	trusted, err := uploader.ParseSigners(cfg.Encryption.TrustedSigners)
	if err != nil {
		return nil, fmt.Errorf("encryption.trusted_signers: %w", err)
	}
	b, err := uploader.New(store, uploader.Options{
		Prefix:         cfg.Destination.Prefix,
		InlineMax:      cfg.Destination.InlineMax,
		Recipients:     rs,
		SigningKey:     key,
		TrustedSigners: trusted,
		AllowUnsigned:  key == nil,
		AgentID:        cfg.ClientName,
		TakeOver:       a.opts.TakeOver,
		Logger:         a.log,
		FS:             a.fs,
	})
	if err != nil {
		return nil, fmt.Errorf("open backup set: %w", err)
	}
	return b, nil
}

// OpenDestination opens the object store cfg's destination names: the local
// directory (created if missing) or the S3 bucket.
func OpenDestination(ctx context.Context, cfg *config.Config) (uploader.ObjectStore, error) {
	if cfg.Destination.Type == config.DestinationS3 {
		s := cfg.Destination.S3
		st, err := s3store.New(ctx, s3store.Config{
			Bucket:          s.Bucket,
			Region:          s.Region,
			Endpoint:        s.Endpoint,
			PathStyle:       s.PathStyle,
			Profile:         s.Profile,
			AccessKeyID:     s.AccessKeyID,
			SecretAccessKey: s.SecretAccessKey,
			SessionToken:    s.SessionToken,
			PartSize:        cfg.PartSizeBytes(),
			Concurrency:     s.Concurrency,
			MaxAttempts:     s.MaxAttempts,
		})
		if err != nil {
			return nil, fmt.Errorf("open destination: %w", err)
		}
		return st, nil
	}
	st, err := dirstore.New(cfg.BucketDir())
	if err != nil {
		return nil, fmt.Errorf("open destination: %w", err)
	}
	return st, nil
}

// Recipients parses encryption.recipients and encryption.recipients_file.
// Errors name the field.
func Recipients(cfg *config.Config) ([]age.Recipient, error) {
	var out []age.Recipient
	for i, s := range cfg.Encryption.Recipients {
		r, err := uploader.ParseRecipient(s)
		if err != nil {
			return nil, fmt.Errorf("encryption.recipients[%d]: %w", i, err)
		}
		out = append(out, r)
	}
	if f := cfg.Encryption.RecipientsFile; f != "" {
		rs, err := uploader.ReadRecipientsFile(f)
		if err != nil {
			return nil, fmt.Errorf("encryption.recipients_file: %w", err)
		}
		out = append(out, rs...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("encryption: no recipients; set encryption.recipients or encryption.recipients_file (mlsbackup keygen prints a recipient)")
	}
	return out, nil
}
