package e2e

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/agent"
)

// proc is a running agent process.
type proc struct {
	cmd    *exec.Cmd
	stderr *strings.Builder
	done   chan error
}

// startAgent starts the node's agent and waits until its API answers.
func (n *node) startAgent() *proc {
	n.t.Helper()
	cmd := exec.Command(binary, "--config", n.config, "agent")
	var errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &errOut, &errOut
	if err := cmd.Start(); err != nil {
		n.t.Fatalf("%s: start agent: %v", n.name, err)
	}
	p := &proc{cmd: cmd, stderr: &errOut, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	n.t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := agent.Dial(filepath.Join(n.data, "agent.sock"))
		if err == nil {
			c.Close()
			return p
		}
		select {
		case err := <-p.done:
			p.done <- err
			n.t.Fatalf("%s: agent exited at start: %v\n%s", n.name, err, errOut.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("%s: agent did not answer within 30s: %v\n%s", n.name, err, errOut.String())
		}
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	err := <-p.done
	p.done <- err
}

// stop sends SIGTERM and returns the exit error (nil for exit 0).
func (p *proc) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(30 * time.Second):
		p.kill()
		return errors.New("agent did not stop within 30s of SIGTERM")
	}
}

// group runs `mlsbackup group ARGS --json` and decodes the answer into v.
func (n *node) group(v any, args ...string) {
	n.t.Helper()
	out := n.mustRun(append(append([]string{"group"}, args...), "--json")...)
	if v == nil {
		return
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		n.t.Fatalf("%s: group %s: decode %q: %v", n.name, strings.Join(args, " "), out, err)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// wipe deletes the node's data directory (the lost disk).
func (n *node) wipe() {
	n.t.Helper()
	if err := os.RemoveAll(n.data); err != nil {
		n.t.Fatal(err)
	}
}
