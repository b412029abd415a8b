package dirstore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/atomicfile"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// TestCrashAtEveryOperation cuts the power at every file-system operation
// of a Put (with torn writes) and checks what survives: objects written
// before are intact, the new object is absent or complete — and complete
// if Put had returned success — nothing partial is listed, and Clean
// removes the leftovers.
func TestCrashAtEveryOperation(t *testing.T) {
	tests := []struct {
		name        string
		key         string
		ifNoneMatch bool
	}{
		{"new directories", "h/i/new", false},
		{"new directories conditional", "h/i/new", true},
		{"overwrite", "g/prev", false},
		{"existing directory conditional", "g/fresh", true},
	}
	content := strings.Repeat("snapshot bytes ", 1000)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k := int64(1); ; k++ {
				mem := fsx.NewMem()
				setup, err := NewFS(mem, "/store")
				if err != nil {
					t.Fatal(err)
				}
				for _, key := range []string{"g/old", "g/prev"} {
					if err := setup.Put(t.Context(), key, strings.NewReader("v1 "+key), -1, false); err != nil {
						t.Fatal(err)
					}
				}
				faulty := fsx.NewFaulty(mem, fsx.FaultyOptions{FailAt: k, Torn: true})
				s, err := NewFS(mem, "/store")
				if err != nil {
					t.Fatal(err)
				}
				s.fsys = faulty
				putErr := s.Put(t.Context(), tc.key, strings.NewReader(content), int64(len(content)), tc.ifNoneMatch)
				crashed := faulty.Crashed()
				if !crashed && putErr != nil {
					t.Fatalf("no crash, but put failed: %v", putErr)
				}
				mem.Crash(fsx.PowerLoss)
				checkAfterCrash(t, mem, fmt.Sprintf("crash at op %d", k), tc.key, content, putErr == nil)
				if !crashed {
					if k < 4 {
						t.Fatalf("only %d operations: the crash points were not exercised", k-1)
					}
					return
				}
			}
		})
	}
}

func checkAfterCrash(t *testing.T, mem *fsx.Mem, when, key, content string, acked bool) {
	t.Helper()
	ctx := t.Context()
	s, err := NewFS(mem, "/store")
	if err != nil {
		t.Fatalf("%s: reopen: %v", when, err)
	}
	get := func(k string) (string, error) {
		r, err := s.Get(ctx, k)
		if err != nil {
			return "", err
		}
		defer r.Close()
		b, err := io.ReadAll(r)
		return string(b), err
	}
	if got, err := get("g/old"); err != nil || got != "v1 g/old" {
		t.Fatalf("%s: an untouched object is now %q, %v", when, got, err)
	}
	got, err := get(key)
	switch {
	case errors.Is(err, uploader.ErrNotFound) && !acked:
	case err == nil && got == content:
	case err == nil && key == "g/prev" && got == "v1 g/prev" && !acked:
	default:
		t.Fatalf("%s: %s holds %d bytes (%v), acknowledged=%v", when, key, len(got), err, acked)
	}
	infos, err := s.List(ctx, "")
	if err != nil {
		t.Fatalf("%s: list: %v", when, err)
	}
	for _, info := range infos {
		if atomicfile.IsTemp(info.Key[strings.LastIndexByte(info.Key, '/')+1:]) {
			t.Fatalf("%s: temp file listed: %s", when, info.Key)
		}
	}
	if _, err := s.CleanTemps(ctx, "", time.Now().Add(time.Hour), false); err != nil {
		t.Fatalf("%s: clean: %v", when, err)
	}
	var temps int
	if err := s.walk(ctx, "", nil, func(string, fs.FileInfo) error { temps++; return nil }); err != nil {
		t.Fatal(err)
	}
	if temps != 0 {
		t.Fatalf("%s: %d temp files after Clean", when, temps)
	}
}
