package schedule

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/atomicfile"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

const stateVersion = 1

// stateFile is the JSON content of [Config].StateFile.
type stateFile struct {
	Version  int       `json:"version"`
	LastPass time.Time `json:"last_pass"`
}

// loadState reads the time of the last complete cron pass. found is false
// if the file does not exist.
func loadState(fsys fsx.FS, path string) (last time.Time, found bool, err error) {
	data, err := fsys.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read schedule state: %w", err)
	}
	var st stateFile
	if err := json.Unmarshal(data, &st); err != nil {
		return time.Time{}, false, fmt.Errorf("parse schedule state %s: %w", path, err)
	}
	if st.Version != stateVersion {
		return time.Time{}, false, fmt.Errorf("parse schedule state %s: unknown version %d", path, st.Version)
	}
	if st.LastPass.IsZero() {
		return time.Time{}, false, fmt.Errorf("parse schedule state %s: no last_pass", path)
	}
	return st.LastPass, true, nil
}

// saveState atomically records the time of the last complete cron pass.
func saveState(fsys fsx.FS, path string, last time.Time) error {
	data, err := json.Marshal(stateFile{Version: stateVersion, LastPass: last.UTC()})
	if err != nil {
		return fmt.Errorf("encode schedule state: %w", err)
	}
	if err := atomicfile.Write(fsys, path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("save schedule state: %w", err)
	}
	return nil
}
