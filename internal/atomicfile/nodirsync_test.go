package atomicfile

import (
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

func TestWriteNoDirSyncNeedsDirSync(t *testing.T) {
	for _, tc := range []struct {
		name    string
		syncDir bool
		want    string
	}{
		{"without dir fsync the old content survives a power loss", false, "old"},
		{"after dir fsync the new content survives", true, "new"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := fsx.NewMem()
			if err := m.MkdirAll("/d", 0o700); err != nil {
				t.Fatal(err)
			}
			if err := m.SyncDir("/"); err != nil {
				t.Fatal(err)
			}
			if err := Write(m, "/d/f", []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := WriteNoDirSync(m, "/d/f", []byte("new"), 0o600); err != nil {
				t.Fatal(err)
			}
			if got, _ := m.ReadFile("/d/f"); string(got) != "new" {
				t.Fatalf("before crash: %q, want new", got)
			}
			if tc.syncDir {
				if err := m.SyncDir("/d"); err != nil {
					t.Fatal(err)
				}
			}
			m.Crash(fsx.PowerLoss)
			if got, _ := m.ReadFile("/d/f"); string(got) != tc.want {
				t.Fatalf("after crash: %q, want %q", got, tc.want)
			}
		})
	}
}
