package main

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/agent"
)

// TestKeyPackageFileRoundTrip is issue 15's "--key-package takes no @FILE
// and group keypackage's default output cannot be fed back": the plain
// and the --json output of group keypackage, saved to a file, are taken
// by group add --key-package @FILE.
func TestKeyPackageFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	keys := keygen(t, filepath.Join(dir, "id.txt"))
	alice := startAgent(t, dir, "alice", keys)
	bob := startAgent(t, dir, "bob", keys)
	carol := startAgent(t, dir, "carol", keys)
	group := hex.EncodeToString([]byte("files"))
	var created agent.GroupInfo
	alice.cli(t, &created, "group", "create", group)

	// bob: "group keypackage > kp", the plain output.
	code, plain, stderr := runCLI(t, "--config", bob.config, "group", "keypackage")
	if code != exitOK {
		t.Fatalf("keypackage: exit %d: %s", code, stderr)
	}
	// carol: "group keypackage --json > kp.json".
	code, asJSON, stderr := runCLI(t, "--config", carol.config, "group", "keypackage", "--json")
	if code != exitOK {
		t.Fatalf("keypackage --json: exit %d: %s", code, stderr)
	}
	kp, kpJSON := filepath.Join(dir, "kp"), filepath.Join(dir, "kp.json")
	if err := os.WriteFile(kp, []byte(plain), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kpJSON, []byte(asJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	var added agent.CommitResponse
	alice.cli(t, &added, "group", "add", group, "--key-package", "@"+kp, "--key-package", "@"+kpJSON)
	var info agent.GroupInfo
	alice.cli(t, &info, "group", "info", group)
	if len(info.Members) != 3 || info.Members[1].Identity != "bob" || info.Members[2].Identity != "carol" {
		t.Fatalf("after add from files: members %+v, want alice, bob, carol", info.Members)
	}

	// A file that is neither base64 nor holds the labelled line is named.
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("welcome: AAAA\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, "--config", alice.config, "group", "add", group, "--key-package", "@"+other)
	if code != exitUsage || !strings.Contains(stderr, `"key_package:"`) {
		t.Fatalf("add --key-package @file without the line: exit %d, %s; want a usage error naming key_package:", code, stderr)
	}
}
