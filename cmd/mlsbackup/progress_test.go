package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// checkProgressLines fails unless stderr is exactly the plain progress
// lines of three items (stderr is no terminal in tests): one per item,
// the last with the time taken, and stdout holds none of them.
func checkProgressLines(t *testing.T, args []string, stdout, stderr, label, unit string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%v: stderr has %d lines, want 3 progress lines:\n%s", args, len(lines), stderr)
	}
	for i, l := range lines {
		want := fmt.Sprintf("%s: %d/3 %s (%d%%)", label, i+1, unit, (i+1)*100/3)
		if !strings.HasPrefix(l, want) || strings.ContainsAny(l, "\r\x1b") {
			t.Errorf("%v: stderr line %q, want it to start %q", args, l, want)
		}
	}
	if !strings.Contains(lines[2], " in ") {
		t.Errorf("%v: last progress line %q lacks the time taken", args, lines[2])
	}
	if strings.Contains(stdout, label+": ") {
		t.Errorf("%v: progress on stdout:\n%s", args, stdout)
	}
}

// TestRestoreAllProgressOnStderr: restore --all reports its progress on
// stderr as plain lines when stderr is not a terminal, with and without
// --json, and stdout carries only the results.
func TestRestoreAllProgressOnStderr(t *testing.T) {
	f := newRestoreFixture(t)
	for _, g := range []string{"p1", "p2", "p3"} {
		f.advance(t, g)
	}
	f.upload(t, "p1", "p2", "p3")
	if err := os.RemoveAll(f.data); err != nil {
		t.Fatal(err)
	}
	args := []string{"restore", "--all", "--dry-run"}
	code, stdout, stderr := f.run(t, args...)
	if code != exitOK || !strings.Contains(stdout, "3 would be restored") {
		t.Fatalf("%v: exit %d\n%s\n%s", args, code, stdout, stderr)
	}
	checkProgressLines(t, args, stdout, stderr, "restore", "groups")

	args = []string{"restore", "--all", "--json"}
	code, stdout, stderr = f.run(t, args...)
	var views []restoreView
	if err := json.Unmarshal([]byte(stdout), &views); code != exitOK || err != nil || len(views) != 3 {
		t.Fatalf("%v: exit %d, %v, %d results\n%s\n%s", args, code, err, len(views), stdout, stderr)
	}
	checkProgressLines(t, args, stdout, stderr, "restore", "groups")

	args = []string{"restore", "--group", fmt.Sprintf("%x", "p1"), "--force"}
	if code, stdout, stderr = f.run(t, args...); code != exitOK || stderr != "" {
		t.Errorf("%v: exit %d, stderr %q; want no progress for one group\n%s", args, code, stderr, stdout)
	}
}

// TestVerifyAllProgressOnStderr: verify --all reports its progress on
// stderr as plain lines, with and without --json; verify of the newest
// snapshots only (no --all) stays silent there.
func TestVerifyAllProgressOnStderr(t *testing.T) {
	f := newBackupFixture(t) // three snapshots
	for _, args := range [][]string{{"verify", "--all"}, {"verify", "--all", "--json"}} {
		code, stdout, stderr := f.run(t, args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, stdout, stderr)
		}
		if args[len(args)-1] == "--json" {
			var vs []verifyView
			if err := json.Unmarshal([]byte(stdout), &vs); err != nil || len(vs) != 3 {
				t.Errorf("%v: stdout is not the JSON of three snapshots (%v):\n%s", args, err, stdout)
			}
		} else if !strings.Contains(stdout, "3 snapshots verified") {
			t.Errorf("%v: stdout lacks the summary:\n%s", args, stdout)
		}
		checkProgressLines(t, args, stdout, stderr, "verify", "snapshots")
	}
	if code, stdout, stderr := f.run(t, "verify"); code != exitOK || stderr != "" {
		t.Errorf("verify: exit %d, stderr %q; want no progress without --all\n%s", code, stderr, stdout)
	}
}
