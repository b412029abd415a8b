package atomicfile

import (
	"errors"
	"io/fs"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

// TestOverwriteNoSync checks the content before and after a power loss of
// a write without fsyncs, depending on which syncs the caller ran after it.
func TestOverwriteNoSync(t *testing.T) {
	const missing = "<missing>"
	for _, tc := range []struct {
		name     string
		old      string // "" = no file before
		data     string
		syncFile bool
		syncDir  bool
		want     string // after the power loss
	}{
		{"shorter, no syncs: old content survives", "old content", "new", false, false, "old content"},
		{"longer, no syncs: old content survives", "old", "new content", false, false, "old"},
		{"shorter, file synced", "old content", "new", true, false, "new"},
		{"longer, file synced", "old", "new content", true, false, "new content"},
		{"new file, no syncs: gone", "", "new", false, false, missing},
		{"new file, file synced only: gone", "", "new", true, false, missing},
		{"new file, directory synced only: empty", "", "new", false, true, ""},
		{"new file, file and directory synced", "", "new", true, true, "new"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := fsx.NewMem()
			if err := m.MkdirAll("/d", 0o700); err != nil {
				t.Fatal(err)
			}
			if err := m.SyncDir("/"); err != nil {
				t.Fatal(err)
			}
			if tc.old != "" {
				if err := Write(m, "/d/f", []byte(tc.old), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			faulty := fsx.NewFaulty(m, fsx.FaultyOptions{})
			if err := OverwriteNoSync(faulty, "/d/f", []byte(tc.data), 0o600); err != nil {
				t.Fatal(err)
			}
			st := faulty.Stats()
			if got := st.Ops[fsx.OpSync] + st.Ops[fsx.OpSyncDir] + st.Ops[fsx.OpRename]; got != 0 {
				t.Fatalf("OverwriteNoSync ran %d fsyncs or renames, want 0", got)
			}
			if got, _ := m.ReadFile("/d/f"); string(got) != tc.data {
				t.Fatalf("before crash: %q, want %q", got, tc.data)
			}
			if tc.syncFile {
				if err := SyncFile(m, "/d/f"); err != nil {
					t.Fatal(err)
				}
			}
			if tc.syncDir {
				if err := m.SyncDir("/d"); err != nil {
					t.Fatal(err)
				}
			}
			m.Crash(fsx.PowerLoss)
			got, err := m.ReadFile("/d/f")
			if errors.Is(err, fs.ErrNotExist) {
				got = []byte(missing)
			} else if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("after crash: %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSyncFileMissing(t *testing.T) {
	m := fsx.NewMem()
	if err := SyncFile(m, "/nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want fs.ErrNotExist", err)
	}
}
