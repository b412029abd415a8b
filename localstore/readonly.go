package localstore

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

// Initialized reports whether dir holds a data directory: its FORMAT file,
// or an mls/ or wal/ directory (which [Open] refuses without FORMAT). A
// missing or empty dir holds none; [Open] would create and initialise it.
func Initialized(fsys fsx.FS, dir string) (bool, error) {
	for _, name := range []string{fileFormat, dirMLS, dirWAL} {
		_, err := fsys.Stat(filepath.Join(dir, name))
		switch {
		case err == nil:
			return true, nil
		case !errors.Is(err, fs.ErrNotExist):
			return false, fmt.Errorf("data directory %s: %w", dir, err)
		}
	}
	return false, nil
}
