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

// TestMessageFileTakesCommitOutput: a commit's output (plain or --json)
// feeds "group receive --message @FILE"; a send's "message:" line too,
// and a file with neither names both labels.
func TestMessageFileTakesCommitOutput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return "@" + p
	}
	for _, tc := range []struct{ name, text, want string }{
		{"commit", "group_id: 74\nepoch: 2\nmerged: true\ncommit: AQID\n", "\x01\x02\x03"},
		{"commit-json", `{"group_id": "74", "commit": "BAU="}`, "\x04\x05"},
		{"message", "group_id: 74\nepoch: 2\nmessage: Bgc=\n", "\x06\x07"},
		{"both", "message: CA==\ncommit: CQ==\n", "\x08"},
	} {
		got, err := b64Value("message", write(tc.name, tc.text))
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: %x, %v; want %x", tc.name, got, err, tc.want)
		}
	}
	_, err := b64Value("message", write("neither", "group_id: 74\nwelcome: AQ==\n"))
	if err == nil || !strings.Contains(err.Error(), `"message:" or "commit:"`) {
		t.Errorf("neither: %v", err)
	}
	if _, err := b64Value("key-package", write("kp-commit", "commit: AQ==\n")); err == nil {
		t.Error("--key-package took a commit line")
	}
}
