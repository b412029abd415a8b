package main

import (
	"os"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/mlsbackup/mlsbackup/internal/testenv"
)

// TestOperatorPath walks the operator's path of the README and
// docs/runbook.md through the real CLI against MinIO (issue 15): keygen,
// config check, check, two agents, a group of two members, snapshot,
// list, verify, a lost disk, restore, catching up, a self-update and a
// send. "waitfor FILE" waits up to 20 s for FILE to exist (an agent's
// socket).
func TestOperatorPath(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MinIO and two agents")
	}
	testscript.Run(t, testscript.Params{
		Dir:   "testdata/operator",
		Setup: minioScriptEnv(testenv.MinIO(t)),
		Cmds:  map[string]func(ts *testscript.TestScript, neg bool, args []string){"waitfor": cmdWaitFor},
	})
}

func cmdWaitFor(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfor FILE")
	}
	path := ts.MkAbs(args[0])
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
	}
	ts.Fatalf("%s did not appear within 20 s", args[0])
}
