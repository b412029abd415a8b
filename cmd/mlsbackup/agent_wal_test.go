package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/localstore"
)

// TestWALCommand: wal reports begun operations and a torn tail without
// changing the log, and names the file and offset of corruption.
func TestWALCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ctx := context.Background()
	st, _, err := localstore.Open(ctx, fsx.OS{}, dir, localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Begin(ctx, "ProcessMessage", []byte("incoming")); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	segs, err := filepath.Glob(filepath.Join(dir, "wal", "*.wal"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("segments: %v %v", segs, err)
	}
	last := segs[len(segs)-1]
	f, err := os.OpenFile(last, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte{1, 2, 3, 4, 5}); err != nil { // a torn record header
		t.Fatal(err)
	}
	f.Close()
	before, _ := os.ReadFile(last)

	code, stdout, stderr := runCLI(t, "--data-dir", dir, "wal", "--json")
	if code != exitOK {
		t.Fatalf("wal: exit %d: %s", code, stderr)
	}
	var v walView
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Incomplete) != 1 || v.Incomplete[0].Kind != "ProcessMessage" || v.Incomplete[0].InputLen != 8 {
		t.Errorf("incomplete = %+v, want the begun ProcessMessage with 8 bytes of input", v.Incomplete)
	}
	if v.TornTail == nil || v.TornTail.Dropped != 5 || v.TornTail.File != last {
		t.Errorf("torn tail = %+v, want 5 bytes dropped from %s", v.TornTail, last)
	}
	if after, _ := os.ReadFile(last); string(after) != string(before) {
		t.Errorf("wal changed the log")
	}
	if strings.Contains(stdout, "incoming") {
		t.Errorf("wal printed an input")
	}
	code, stdout, _ = runCLI(t, "--data-dir", dir, "wal")
	if code != exitOK || !strings.Contains(stdout, "begun, never committed: 1") || !strings.Contains(stdout, "torn tail:") {
		t.Errorf("wal text: exit %d\n%s", code, stdout)
	}

	// A damaged segment header is corruption: exit 1 with file and offset.
	data, _ := os.ReadFile(segs[0])
	data[17] ^= 0xff
	if err := os.WriteFile(segs[0], data, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, "--data-dir", dir, "wal")
	if code != exitFailure || !strings.Contains(stderr, "corrupt log: segment "+segs[0]+" at offset") {
		t.Errorf("wal on a corrupt log: exit %d, %s", code, stderr)
	}
	code, _, stderr = runCLI(t, "--data-dir", filepath.Join(dir, "none"), "wal")
	if code != exitFailure || !strings.Contains(stderr, "no write-ahead log at") {
		t.Errorf("wal without a log: exit %d, %s", code, stderr)
	}
}
