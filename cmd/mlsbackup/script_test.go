package main

import (
	"context"
	"net"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/mlsbackup/mlsbackup/internal/testenv"
)

// TestMain lets the test binary act as the mlsbackup command inside the
// testscript files.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"mlsbackup": func() {
			os.Exit(run(context.Background(), os.Args, streams{in: os.Stdin, out: os.Stdout, err: os.Stderr}))
		},
	})
}

// TestScripts runs the command-line scenarios in testdata/script.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(e *testscript.Env) error {
			e.Setenv("MLSBACKUP_CONFIG", "")
			// CLOSED_PORT is a loopback port nothing listens on: an
			// unreachable destination.
			addr, err := testenv.FreeAddr()
			if err != nil {
				return err
			}
			_, port, err := net.SplitHostPort(addr)
			e.Setenv("CLOSED_PORT", port)
			return err
		},
	})
}
