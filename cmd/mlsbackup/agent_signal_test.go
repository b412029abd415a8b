package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/agent"
)

// lockedBuffer is a bytes.Buffer safe for a process writing and a test
// reading.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestAgentProcessSignals runs "mlsbackup agent" as a real process (this
// test binary, called mlsbackup): SIGHUP reloads the configuration file,
// SIGTERM stops it with exit code 0 and removes its socket.
func TestAgentProcessSignals(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "agsig") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "mlsbackup")
	if err := os.Symlink(exe, bin); err != nil {
		t.Fatal(err)
	}
	keys := keygen(t, filepath.Join(dir, "id.txt"))
	cfg := filepath.Join(dir, "agent.yaml")
	writeCfg := func(every int) {
		doc := fmt.Sprintf("data_dir: %s\nclient_name: sig\n%ssnapshot: {every_epochs: %d, jitter: 0s}\n",
			filepath.Join(dir, "data"), keys.agentYAML(), every)
		if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeCfg(5)
	var logs lockedBuffer
	cmd := exec.Command(bin, "--config", cfg, "--log-level", "info", "agent")
	cmd.Env = append(os.Environ(), "MLSBACKUP_CONFIG=")
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	socket := filepath.Join(dir, "data", "agent.sock")
	waitFor(t, "the agent to answer", func() bool {
		cl, err := agent.Dial(socket)
		if err == nil {
			cl.Close()
		}
		return err == nil
	})

	writeCfg(7)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	var st agent.Status
	waitFor(t, "the reload", func() bool {
		cl, err := agent.Dial(socket)
		if err != nil {
			return false
		}
		defer cl.Close()
		st, err = cl.Status(context.Background())
		// The status shows the new configuration a moment before the
		// reload's log line is written.
		return err == nil && st.EveryEpochs == 7 && strings.Contains(logs.String(), "configuration reloaded")
	})

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Fatalf("agent exited with %v after SIGTERM, want exit 0; log:\n%s", waitErr, logs.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("agent did not exit after SIGTERM; log:\n%s", logs.String())
	}
	if _, err := os.Stat(socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after SIGTERM: %v", err)
	}
	for _, want := range []string{"recovery done", "configuration reloaded", "agent stopped"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	// Issue 15: SIGHUP logged "configuration reloaded" twice.
	if n := strings.Count(logs.String(), "configuration reloaded"); n != 1 {
		t.Errorf("one SIGHUP logged %q %d times, want once:\n%s", "configuration reloaded", n, logs.String())
	}
}

// waitFor polls cond until it holds or 20 seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
