package wal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

// Read scans the log in dir as [Open] does and returns what Open would
// recover, without changing anything: no segment is created, repaired,
// deleted or fsynced, and leftover temporary files stay. A torn tail is
// left out of the result (as Open would cut it) but stays on disk, and
// [Recovery].Repaired stays nil. It is for readers that may not write, such
// as a dry run on a read-only data directory; the caller keeps writers out
// while it reads. A missing dir is an empty log.
func Read(ctx context.Context, fsys fsx.FS, dir string, opts Options) (*Recovery, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if _, err := fsys.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return &Recovery{}, nil
	}
	res, err := scan(ctx, fsys, dir, opts.Logger, false)
	if err != nil {
		return nil, fmt.Errorf("read wal: %w", err)
	}
	return &res.rec, nil
}
