package main

import (
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/agent"
)

// TestAgentClientNameFlag is issue 15's "identity means the MLS client
// name for agent --identity and the age key file for restore --identity":
// the agent's flag is --client-name; --identity still works, hidden, with
// a deprecation warning.
func TestAgentClientNameFlag(t *testing.T) {
	dir := t.TempDir()
	keys := keygen(t, filepath.Join(dir, "id.txt"))
	for _, tc := range []struct {
		dir, flag, name string
		deprecated      bool
	}{
		{"a", "--client-name", "carol", false},
		{"b", "--identity", "dave", true},
	} {
		ta := startAgentArgs(t, dir, tc.dir, keys, "", tc.flag, tc.name)
		group := hex.EncodeToString([]byte("named-" + tc.dir))
		var info agent.GroupInfo
		ta.cli(t, &info, "group", "create", group)
		if len(info.Members) != 1 || info.Members[0].Identity != tc.name {
			t.Errorf("agent %s %s: group members %+v, want %s", tc.flag, tc.name, info.Members, tc.name)
		}
		ta.shutdown(t)
		if got := strings.Contains(ta.stderr.String(), "deprecated"); got != tc.deprecated {
			t.Errorf("agent %s: deprecation warning %v, want %v: %s", tc.flag, got, tc.deprecated, ta.stderr)
		}
	}
	code, stdout, _ := runCLI(t, "agent", "--help")
	if code != exitOK || !strings.Contains(stdout, "--client-name NAME") || strings.Contains(stdout, "--identity") {
		t.Errorf("agent --help: exit %d, want --client-name and no --identity:\n%s", code, stdout)
	}
}
