package fsx

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestSmallDiskFillAndFree: on the small disk (a tmpfs where mounting is
// permitted, the fault-injecting FS otherwise) a write fails with ENOSPC
// after Fill and succeeds again after Free.
func TestSmallDiskFillAndFree(t *testing.T) {
	for _, mount := range []func(string, int64) error{mountTmpfs, func(string, int64) error { return syscall.EPERM }} {
		d, err := newSmallDisk(t.TempDir(), 256<<10, mount)
		mustNil(t, err)
		testSmallDisk(t, d)
	}
}

func testSmallDisk(t *testing.T, d *SmallDisk) {
	t.Cleanup(func() { mustNil(t, d.Close()) })
	t.Logf("tmpfs: %v", d.Tmpfs)
	write := func(name string) error {
		f, err := d.FS().OpenFile(filepath.Join(d.Dir, name), os.O_WRONLY|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.Write(make([]byte, 16<<10))
		return err
	}
	mustNil(t, write("before"))
	mustNil(t, d.Fill())
	if err := write("while-full"); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write on the filled disk: %v, want ENOSPC", err)
	}
	mustNil(t, d.Free())
	mustNil(t, write("after"))
}
