package fsx

import (
	"errors"
	"os"
	"syscall"
	"testing"
)

// TestFullDiskFailsWritesAndKeepsGoing: a full disk fails writes with a
// short write and ENOSPC and refuses new files, but the world does not
// stop: truncation, fsync and removal still work, and writes succeed again
// once space is freed.
func TestFullDiskFailsWritesAndKeepsGoing(t *testing.T) {
	m := NewMem()
	full := &Full{Under: "/d/"}
	f := NewFaulty(m, FaultyOptions{Inject: full.Inject})
	mustNil(t, f.MkdirAll("/d", 0o700))
	file, err := f.OpenFile("/d/a", os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	mustNil(t, err)
	defer file.Close()
	_, err = file.Write([]byte("good"))
	mustNil(t, err)

	full.Set(true)
	n, err := file.Write([]byte("12345678"))
	if n != 4 || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write on a full disk = %d, %v; want 4 bytes and ENOSPC", n, err)
	}
	if _, err := f.OpenFile("/d/b", os.O_WRONLY|os.O_CREATE, 0o600); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("create on a full disk: %v, want ENOSPC", err)
	}
	if _, err := f.OpenFile("/elsewhere", os.O_WRONLY|os.O_CREATE, 0o600); err != nil {
		t.Fatalf("create outside Under: %v", err)
	}
	mustNil(t, file.Truncate(4))
	mustNil(t, file.Sync())
	if got := readOrMissing(m, "/d/a"); got != "good" {
		t.Fatalf("after truncate: %q, want %q", got, "good")
	}
	if f.Crashed() || full.Hits() != 2 {
		t.Fatalf("crashed = %v, hits = %d; want false, 2", f.Crashed(), full.Hits())
	}

	full.Set(false)
	_, err = file.Write([]byte("-more"))
	mustNil(t, err)
	if got := readOrMissing(m, "/d/a"); got != "good-more" {
		t.Fatalf("after space returned: %q, want %q", got, "good-more")
	}
}
