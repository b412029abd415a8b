package quickstart

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/testenv"
)

// TestRun plays the whole quickstart and then decrypts every backup it wrote
// with the real age CLI.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	sum, err := Run(context.Background(), Options{Dir: dir, Out: &out})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	sum.Print(&out, true)
	t.Log(out.String())

	checks := []struct {
		name      string
		got, want any
	}{
		{"members", len(sum.Members), 4},
		{"final epoch", sum.Epoch, uint64(10)},
		{"restored from epoch", sum.RestoredFrom.Epoch, uint64(6)},
		{"missed commits", sum.Missed, 3},
		{"bob sends from", sum.SentEpoch, uint64(10)},
		// epochs 3 (4 members), 6 (alice, bob, carol), 9 (alice, carol, then bob after catching up), alice before the removal
		{"snapshots", len(sum.Snapshots), 4 + 3 + 3 + 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	for _, want := range []string{"age -d -i " + sum.IdentityFile, "DISASTER", "RESTORE", "CATCH-UP", "bob may not send", "bob still may not send", "his first commit since the restore", "welcome back, bob"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("progress lacks %q", want)
		}
	}

	ageBin := testenv.Bin(t, "age")
	for _, m := range sum.Snapshots {
		obj := filepath.Join(dir, "bucket", filepath.FromSlash(m.DataKey))
		plain, err := exec.Command(ageBin, "-d", "-i", sum.IdentityFile, obj).Output()
		if err != nil {
			t.Fatalf("age -d %s: %v", obj, err)
		}
		if got := sha256.Sum256(plain); got != m.PlaintextSHA256 || int64(len(plain)) != m.PlaintextSize {
			t.Errorf("%s: age CLI output (%d bytes) differs from the manifest's plaintext (%d bytes)", m.DataKey, len(plain), m.PlaintextSize)
		}
		if !bytes.HasPrefix(plain, []byte("MLSBSNAP")) {
			t.Errorf("%s: decrypted object does not start with the snapshot magic", m.DataKey)
		}
	}
}

// TestRunNeedsDir: no work directory is an error, not a panic.
func TestRunNeedsDir(t *testing.T) {
	if _, err := Run(context.Background(), Options{}); err == nil {
		t.Fatal("Run without a directory succeeded")
	}
}
