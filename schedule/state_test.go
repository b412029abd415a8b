package schedule

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

func TestStateRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "schedule.json")
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 7, 1, 3, 0, 0, 123, paris)
	if err := saveState(fsx.OS{}, path, want); err != nil {
		t.Fatal(err)
	}
	got, found, err := loadState(fsx.OS{}, path)
	if err != nil || !found || !got.Equal(want) {
		t.Errorf("loadState = %s, %v, %v; want %s", got, found, err, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("state file mode %o, want 600", perm)
	}
}

func TestLoadStateErrors(t *testing.T) {
	tests := []struct {
		name      string
		content   string // "" for a missing file
		wantFound bool
		wantErr   bool
	}{
		{"missing", "", false, false},
		{"truncated", `{"version":1,"last_pa`, false, true},
		{"other version", `{"version":2,"last_pass":"2026-01-01T00:00:00Z"}`, false, true},
		{"no time", `{"version":1}`, false, true},
		{"good", `{"version":1,"last_pass":"2026-01-01T00:00:00Z"}`, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "schedule.json")
			if tt.content != "" {
				if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, found, err := loadState(fsx.OS{}, path)
			if found != tt.wantFound || (err != nil) != tt.wantErr {
				t.Errorf("loadState: found %v, err %v; want found %v, error %v", found, err, tt.wantFound, tt.wantErr)
			}
		})
	}
}
