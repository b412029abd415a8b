package peerbench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// peerScript is the Node script that drives core-crypto, in this package's
// directory beside its node_modules.
const peerScript = "corecrypto.mjs"

// opTime is one operation's wall and process CPU time in milliseconds.
type opTime struct {
	WallMS float64 `json:"wall_ms"`
	CPUMS  float64 `json:"cpu_ms"`
}

// peerAnswer is one answer line of corecrypto.mjs.
type peerAnswer struct {
	OK          bool              `json:"ok"`
	Error       string            `json:"error"`
	Version     string            `json:"version"`
	Binding     string            `json:"binding"`
	NativeError string            `json:"native_error"`
	BuildMS     float64           `json:"build_ms"`
	Ops         map[string]opTime `json:"ops"`
}

// corePeer is a running corecrypto.mjs serving requests on stdin.
type corePeer struct {
	tb     testing.TB
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Scanner
	stderr bytes.Buffer
}

// startPeer starts corecrypto.mjs and stops it when the test ends. It fails
// the test, never skips it, when node or core-crypto is not installed.
func startPeer(tb testing.TB) *corePeer {
	tb.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		tb.Fatalf("node is not installed (%v): run bash scripts/test.sh, which installs Node.js and core-crypto", err)
	}
	dir, err := filepath.Abs(".")
	if err != nil {
		tb.Fatalf("peer directory: %v", err)
	}
	for _, need := range []string{peerScript, "node_modules/@wireapp/core-crypto/package.json"} {
		if _, err := os.Stat(filepath.Join(dir, need)); err != nil {
			tb.Fatalf("core-crypto peer not installed (%v): run bash scripts/test.sh, which runs npm ci in internal/peerbench", err)
		}
	}
	p := &corePeer{tb: tb, cmd: exec.Command(node, peerScript)}
	p.cmd.Dir = dir
	p.cmd.Stderr = &p.stderr
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		tb.Fatalf("peer stdin: %v", err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		tb.Fatalf("peer stdout: %v", err)
	}
	p.out = bufio.NewScanner(stdout)
	p.out.Buffer(make([]byte, 0, 64<<10), 16<<20)
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("start peer: %v", err)
	}
	tb.Cleanup(func() {
		_ = p.stdin.Close()
		_ = p.cmd.Wait()
	})
	return p
}

// call sends one request and returns its answer; it fails the test, with
// the peer's stderr, when the peer answers an error or stops.
func (p *corePeer) call(req map[string]any) *peerAnswer {
	p.tb.Helper()
	line, err := json.Marshal(req)
	if err != nil {
		p.tb.Fatalf("peer request: %v", err)
	}
	if _, err := p.stdin.Write(append(line, '\n')); err != nil {
		p.fail(fmt.Errorf("write %s: %w", req["op"], err))
	}
	if !p.out.Scan() {
		p.fail(fmt.Errorf("%s: peer stopped (%v)", req["op"], p.out.Err()))
	}
	var a peerAnswer
	if err := json.Unmarshal(p.out.Bytes(), &a); err != nil {
		p.fail(fmt.Errorf("%s: answer %q: %w", req["op"], p.out.Bytes(), err))
	}
	if !a.OK {
		p.fail(fmt.Errorf("%s: %s", req["op"], a.Error))
	}
	return &a
}

// fail stops the peer and fails the test with err and the peer's stderr.
func (p *corePeer) fail(err error) {
	p.tb.Helper()
	_ = p.stdin.Close()
	_ = p.cmd.Wait()
	p.tb.Fatalf("core-crypto peer: %v\nstderr:\n%s", err, p.stderr.String())
}
