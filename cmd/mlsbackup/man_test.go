package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateMan = flag.Bool("update-man", false, "rewrite docs/mlsbackup.1 from the commands")

// TestManPageCurrent keeps docs/mlsbackup.1 equal to what 'mlsbackup man'
// generates from the command definitions (go test ./cmd/mlsbackup -run
// TestManPageCurrent -update-man rewrites it).
func TestManPageCurrent(t *testing.T) {
	code, page, stderr := runCLI(t, "man")
	if code != exitOK || !strings.Contains(page, ".SH NAME") || !strings.Contains(page, "restore") {
		t.Fatalf("man: exit %d\n%s", code, stderr)
	}
	path := filepath.Join("..", "..", "docs", "mlsbackup.1")
	if *updateMan {
		if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != page {
		t.Fatal("docs/mlsbackup.1 is out of date: go test ./cmd/mlsbackup -run TestManPageCurrent -update-man")
	}
}

// TestFishCompletion: the fish script completes every command.
func TestFishCompletion(t *testing.T) {
	code, script, stderr := runCLI(t, "completion", "fish")
	if code != exitOK {
		t.Fatalf("completion fish: exit %d: %s", code, stderr)
	}
	for _, cmd := range []string{"restore", "verify", "outbox", "group", "snapshot", "check"} {
		if !strings.Contains(script, "complete -c mlsbackup") || !strings.Contains(script, "-a '"+cmd) {
			t.Errorf("fish completion lacks %s:\n%s", cmd, script[:min(len(script), 400)])
		}
	}
}
