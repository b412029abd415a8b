package main

import (
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/mlsbackup/mlsbackup/internal/testenv"
)

// TestExportScripts runs the scenarios of testdata/export (issue 17:
// group export and import, group exporter, group and snapshot inspect)
// through the CLI once against a local directory (DEST=dir) and once
// against MinIO (DEST=s3, with the environment of [minioScriptEnv]). AGE
// is the age CLI, which decrypts an encrypted export as a stranger to
// mlsbackup would.
func TestExportScripts(t *testing.T) {
	age := testenv.Bin(t, "age")
	for _, dest := range []string{"dir", "s3"} {
		t.Run(dest, func(t *testing.T) {
			setEnv := func(e *testscript.Env) error {
				e.Setenv("MLSBACKUP_CONFIG", "")
				return nil
			}
			if dest == "s3" {
				if testing.Short() {
					t.Skip("starts MinIO")
				}
				setEnv = minioScriptEnv(testenv.MinIO(t))
			}
			testscript.Run(t, testscript.Params{
				Dir: "testdata/export",
				Setup: func(e *testscript.Env) error {
					e.Setenv("DEST", dest)
					e.Setenv("AGE", age)
					return setEnv(e)
				},
				Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){"waitfor": cmdWaitFor},
			})
		})
	}
}
