package main

import (
	"context"
	"net"
	"os"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
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
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			e.Setenv("CLOSED_PORT", strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
			return l.Close()
		},
	})
}
