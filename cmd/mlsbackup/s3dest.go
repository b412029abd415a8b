package main

import (
	"context"
	"fmt"

	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/s3store"
)

// openS3Store opens the S3 destination of cfg. The key prefix is left to
// [uploader.Options.Prefix], so that both destinations lay out keys alike.
func openS3Store(ctx context.Context, cfg *config.Config) (uploader.ObjectStore, error) {
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
