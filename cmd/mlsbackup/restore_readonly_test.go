package main

import (
	"bytes"
	"encoding/hex"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/testenv"
)

// TestRestoreDryRunOnReadOnlyDataDir: restore --dry-run failed on a data
// directory it may not write, because it opened it for writing (lock file,
// recovery). The data directory here is read-only for the process that
// runs the dry run — mode 0555/0444 and, when the test runs as root (whom
// modes do not stop), a process of the unprivileged user nobody. The dry
// run must read the local group, say what it would restore, and change
// nothing.
func TestRestoreDryRunOnReadOnlyDataDir(t *testing.T) {
	f := newRestoreFixture(t)
	f.advance(t, "rg")
	f.upload(t, "rg")
	f.advance(t, "rg")
	rg := hex.EncodeToString([]byte("rg"))

	// The test binary acts as the mlsbackup command when it is named so
	// (TestMain); a copy in the fixture's directory is reachable by nobody.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(f.dir, "mlsbackup")
	copyFile(t, self, bin, 0o755)
	// Everything readable by others, the data directory writable by nobody.
	for _, d := range []string{filepath.Dir(f.dir), f.dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{f.config, f.identity} {
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	chmodTree(t, filepath.Join(f.dir, "bucket"), 0o755, 0o644)
	chmodTree(t, f.data, 0o555, 0o444)
	t.Cleanup(func() { chmodTree(t, f.data, 0o700, 0o600) })
	before := testenv.Tree(t, f.data)

	cmd := exec.Command(bin, "--config", f.config, "restore", "--group", rg, "--epoch", "1", "--force", "--dry-run")
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("restore --dry-run on a read-only data directory: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	for _, want := range []string{"read-only", "would restore  group " + rg + " at epoch 1 (now: local epoch 2)", "1 would be restored"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s\n%s", want, out.String(), errOut.String())
		}
	}
	if after := testenv.Tree(t, f.data); !maps.Equal(before, after) {
		t.Errorf("the dry run changed the data directory:\nbefore %v\nafter  %v", before, after)
	}
}

// chmodTree sets the mode of every directory and file below root.
func chmodTree(t *testing.T, root string, dirMode, fileMode os.FileMode) {
	t.Helper()
	// Walk first, then change the modes.
	var dirs, files []string
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.IsDir() {
			dirs = append(dirs, p)
		} else {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range files {
		if err := os.Chmod(p, fileMode); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range dirs {
		if err := os.Chmod(p, dirMode); err != nil {
			t.Fatal(err)
		}
	}
}

// copyFile copies src to a new file dst with mode.
func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
