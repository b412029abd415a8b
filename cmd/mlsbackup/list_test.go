package main

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
)

// TestListPrintsFullGroupID is issue 15's "list cuts long group ids so
// they cannot be copied into --group": list prints each group id whole,
// and the id copied from its table selects the group.
func TestListPrintsFullGroupID(t *testing.T) {
	f := newBackupFixture(t)
	long := "a group id longer than the sixteen hex digits list used to keep"
	uploadGroupSnapshot(t, f.backup, engine.NewMemStorage(), long, 1)
	full := hex.EncodeToString([]byte(long))

	code, stdout, stderr := f.run(t, "list")
	if code != exitOK {
		t.Fatalf("list: exit %d: %s", code, stderr)
	}
	var copied string
	for _, line := range strings.Split(stdout, "\n") {
		for _, field := range strings.Fields(line) {
			if strings.HasPrefix(field, full[:16]) {
				copied = field
			}
		}
	}
	if copied != full {
		t.Fatalf("list shows group %q, want %q whole:\n%s", copied, full, stdout)
	}
	code, stdout, stderr = f.run(t, "list", "--group", copied)
	if code != exitOK || !strings.Contains(stdout, "1 snapshots in") {
		t.Fatalf("list --group <id copied from list>: exit %d\n%s\n%s", code, stdout, stderr)
	}
}
