package main

import (
	"context"

	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// openS3Store opens the S3 destination of cfg.
func openS3Store(_ context.Context, _ *config.Config) (uploader.ObjectStore, error) {
	return nil, notAvailable("the S3 destination (uploader/s3store)", "issue 2; until then use destination.type: dir")
}
