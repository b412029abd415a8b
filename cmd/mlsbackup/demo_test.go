package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/testenv"
)

func TestDemoRunsAndCleansUp(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"quickstart", []string{"demo"}, []string{
			"DISASTER: bob's disk is gone",
			"RESTORE: bob's group",
			"CATCH-UP: bob processed the",
			"What just happened",
		}},
		{"pipeline", []string{"demo", "--pipeline"}, []string{
			"5 snapshots decrypted",
			"identical to the snapshot that was uploaded",
			"none contains a snapshot's bytes in the clear",
			"refused, as it must be",
			"Run 'mlsbackup demo' without --pipeline",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != exitOK {
				t.Fatalf("demo: exit %d\n%s\n%s", code, stdout, stderr)
			}
			for _, want := range tt.want {
				if !strings.Contains(stdout, want) {
					t.Errorf("demo output lacks %q", want)
				}
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("demo left %d entries in its temporary directory's parent", len(left))
			}
		})
	}
	if code, _, stderr := runCLI(t, "demo", "--every", "0"); code != exitUsage || !strings.Contains(stderr, "--every: must be at least 1") {
		t.Errorf("demo --every 0: exit %d, %s", code, stderr)
	}
}

// TestDemoBackupsDecryptWithAgeCLI keeps the demo's directory and decrypts
// every snapshot it wrote with the real age CLI and the demo's identity.
func TestDemoBackupsDecryptWithAgeCLI(t *testing.T) {
	for _, tt := range []struct {
		name   string
		args   []string
		count  int // snapshots expected; 0: at least one
		prefix string
	}{
		{"quickstart", nil, 0, "MLSBSNAP"},
		{"pipeline", []string{"--pipeline"}, len(demoPlan()), demoMarker},
	} {
		t.Run(tt.name, func(t *testing.T) { checkDemoWithAge(t, tt.args, tt.count, tt.prefix) })
	}
}

func checkDemoWithAge(t *testing.T, args []string, count int, prefix string) {
	ageBin := testenv.Bin(t, "age")
	dir := filepath.Join(t.TempDir(), "demo")
	code, stdout, stderr := runCLI(t, append([]string{"demo", "--dir", dir}, args...)...)
	if code != exitOK {
		t.Fatalf("demo: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "age -d -i "+filepath.Join(dir, "identity.txt")) {
		t.Errorf("demo does not tell how to decrypt with age:\n%s", stdout)
	}
	var manifests []string
	err := filepath.WalkDir(filepath.Join(dir, "bucket"), func(p string, e os.DirEntry, err error) error {
		if err == nil && e.Name() == "manifest.json" {
			manifests = append(manifests, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if (count == 0 && len(manifests) == 0) || (count > 0 && len(manifests) != count) {
		t.Fatalf("found %d manifests, want %d (0: at least one)", len(manifests), count)
	}
	for _, mp := range manifests {
		raw, err := os.ReadFile(mp)
		if err != nil {
			t.Fatal(err)
		}
		// The manifest is a signed envelope; its payload (base64) holds
		// the digests.
		var env struct {
			Payload []byte `json:"payload"`
		}
		if err := json.Unmarshal(raw, &env); err != nil {
			t.Fatal(err)
		}
		var m struct {
			Plaintext struct {
				Size   int    `json:"size"`
				SHA256 string `json:"sha256"`
			} `json:"plaintext"`
		}
		if err := json.Unmarshal(env.Payload, &m); err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		cmd := exec.Command(ageBin, "-d", "-i", filepath.Join(dir, "identity.txt"), filepath.Join(filepath.Dir(mp), "snapshot.age"))
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("age -d %s: %v: %s", mp, err, errOut.String())
		}
		sum := sha256.Sum256(out.Bytes())
		if out.Len() != m.Plaintext.Size || hex.EncodeToString(sum[:]) != m.Plaintext.SHA256 {
			t.Errorf("age decrypted %d bytes (sha256 %x), manifest says %d (%s)", out.Len(), sum, m.Plaintext.Size, m.Plaintext.SHA256)
		}
		if !bytes.HasPrefix(out.Bytes(), []byte(prefix)) {
			t.Errorf("decrypted snapshot does not start with %q", prefix)
		}
	}

	// A second run refuses a directory that is not empty.
	if code, _, stderr := runCLI(t, "demo", "--dir", dir); code != exitFailure || !strings.Contains(stderr, "is not empty") {
		t.Errorf("demo into a used directory: exit %d, %s", code, stderr)
	}
}

// TestDemoConfigNeverTouchesLivePrefix is issue 15's "demo --config FILE
// writes 26 objects into the live agent's prefix": the demo writes under a
// prefix of its own beside the configured one and removes it afterwards;
// the agent's prefix is untouched.
func TestDemoConfigNeverTouchesLivePrefix(t *testing.T) {
	dir := t.TempDir()
	bucket := filepath.Join(dir, "bucket")
	live := filepath.Join(bucket, "live", "groups", "00", "marker")
	if err := os.MkdirAll(filepath.Dir(live), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(live, []byte("the agent's"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "mlsbackup.yaml")
	conf := "data_dir: " + filepath.Join(dir, "data") + "\nclient_name: alice\ndestination:\n  type: dir\n  prefix: live\n  dir:\n    path: " + bucket + "\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", t.TempDir())
	code, stdout, stderr := runCLI(t, "--config", cfg, "demo")
	if code != exitOK {
		t.Fatalf("demo --config: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "under the new prefix live-demo-") || !strings.Contains(stdout, "Removed the demo's") {
		t.Fatalf("demo does not say where it wrote and that it cleaned up:\n%s", stdout)
	}
	var left []string
	err := filepath.WalkDir(bucket, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			left = append(left, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0] != live {
		t.Fatalf("objects left in the bucket: %v, want only the agent's %s", left, live)
	}
}
