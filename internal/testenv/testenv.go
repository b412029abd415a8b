// Package testenv starts the real servers that mlsbackup's tests run
// against — MinIO and versitygw, two independent S3 implementations — and
// finds the command-line tools they need (the age CLI).
//
// Every binary is looked up on PATH and then in the test cache that
// scripts/test.sh fills (${MLSBACKUP_TEST_CACHE:-$HOME/.cache/mlsbackup-test}/bin).
// A missing binary fails the test with a message that names scripts/test.sh;
// it never skips.
//
// A server listens on a free 127.0.0.1 port only, in a temporary directory,
// with freshly generated credentials and a fresh bucket, and is killed
// (its whole process group) when the test ends. [MinIO] and [Versity] give
// a test its own server, which it may [Server.Kill] and [Server.Restart];
// a [Shared] gives every test of a package a fresh bucket on one server
// started on first use, which saves the start-up time.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// ErrMissingBinary: a tool the tests need is not installed.
var ErrMissingBinary = errors.New("testenv: binary not installed")

// CacheEnv names the environment variable that overrides the directory
// where scripts/test.sh installs the test tools.
const CacheEnv = "MLSBACKUP_TEST_CACHE"

// CacheBin returns the directory scripts/test.sh installs binaries into:
// ${MLSBACKUP_TEST_CACHE:-$HOME/.cache/mlsbackup-test}/bin.
func CacheBin() string {
	if dir := os.Getenv(CacheEnv); dir != "" {
		return filepath.Join(dir, "bin")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".cache", "mlsbackup-test", "bin")
}

// LookBin returns the path of the named binary, from PATH or else from
// [CacheBin]. The error says how to install it.
func LookBin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if dir := CacheBin(); dir != "" {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %q is not on PATH nor in %s; run the tests through scripts/test.sh, which installs it",
		ErrMissingBinary, name, CacheBin())
}

// Bin returns the path of the named binary (e.g. "age", "minio") or fails
// the test, pointing to scripts/test.sh.
func Bin(t testing.TB, name string) string {
	t.Helper()
	p, err := LookBin(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
