package agent

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/mlsbackup/mlsbackup/internal/config"
)

// TestSocketOutsideDataDirNeverConnectableByOthers: the agent listened on
// agent.socket and then chmodded it to 0600, so under a permissive umask
// the socket sat at its path with mode 0777 in between, and any local user
// could connect (22 of 40 starts under umask 000). Under umask 000, each
// start is watched from before it begins: the first time anything exists
// at the socket's path it must be a socket of mode 0600, and no private
// directory of the start may be left beside it. Checked in a private
// directory and in a world-writable one with the sticky bit (like /tmp).
func TestSocketOutsideDataDirNeverConnectableByOthers(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	for _, tc := range []struct {
		name string
		mode fs.FileMode
	}{
		{"private directory", 0o700},
		{"sticky world-writable directory", 0o777 | fs.ModeSticky},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sockDir := filepath.Join(shortTempDir(t), "run")
			if err := os.Mkdir(sockDir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(sockDir, tc.mode); err != nil {
				t.Fatal(err)
			}
			sock := filepath.Join(sockDir, "agent.sock")
			const starts = 25
			for i := range starts {
				first := make(chan fs.FileMode, 1)
				stop := make(chan struct{})
				go func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						if fi, err := os.Lstat(sock); err == nil {
							first <- fi.Mode()
							return
						}
					}
				}()
				ta := newTestAgent(t, agentOpts{edit: func(c *config.Config) { c.Agent.Socket = sock }})
				var mode fs.FileMode
				select {
				case mode = <-first:
				case <-time.After(10 * time.Second):
					t.Fatalf("start %d: the watcher never saw the socket", i)
				}
				close(stop)
				if mode&fs.ModeSocket == 0 || mode.Perm() != 0o600 {
					t.Errorf("start %d: the socket first appeared with mode %v, want a socket of mode 0600", i, mode)
				}
				if names := dirNames(t, sockDir); len(names) != 1 || names[0] != "agent.sock" {
					t.Errorf("start %d: socket directory holds %v, want only agent.sock", i, names)
				}
				ta.stop()
				if names := dirNames(t, sockDir); len(names) != 0 {
					t.Errorf("start %d: after shutdown the socket directory holds %v", i, names)
				}
			}
		})
	}
}

// TestSocketInWorldWritableDirWithoutStickyBitRefused: in a directory that
// every user may write to and that has no sticky bit, another user could
// replace the agent's socket with their own; the agent refuses to serve
// there, and leaves nothing behind.
func TestSocketInWorldWritableDirWithoutStickyBitRefused(t *testing.T) {
	sockDir := filepath.Join(shortTempDir(t), "run")
	if err := os.Mkdir(sockDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sockDir, 0o777); err != nil {
		t.Fatal(err)
	}
	err := runAgentOnce(t, filepath.Join(shortTempDir(t), "data"), filepath.Join(sockDir, "agent.sock"))
	if err == nil || !strings.Contains(err.Error(), "writable by every user") {
		t.Fatalf("Run with the socket in a 0777 directory = %v, want a refusal", err)
	}
	if names := dirNames(t, sockDir); len(names) != 0 {
		t.Errorf("the refused start left %v", names)
	}
}

// TestSocketOfLiveAgentRefused: with agent.socket outside the data
// directory, a second agent (another data directory) refuses a socket path
// on which an agent answers, and refuses a path that is not a socket; a
// stale socket there is replaced.
func TestSocketOfLiveAgentRefused(t *testing.T) {
	sockDir := shortTempDir(t)
	sock := filepath.Join(sockDir, "agent.sock")
	first := newTestAgent(t, agentOpts{edit: func(c *config.Config) { c.Agent.Socket = sock }})
	err := runAgentOnce(t, filepath.Join(shortTempDir(t), "data"), sock)
	if err == nil || !strings.Contains(err.Error(), "in use by another agent") {
		t.Fatalf("second agent on a live socket: %v, want in use", err)
	}
	if err := first.c.Health(ctxT(t)); err != nil {
		t.Fatalf("the first agent after the refused start: %v", err)
	}
	first.stop()

	if err := os.WriteFile(sock, []byte("not a socket"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = runAgentOnce(t, filepath.Join(shortTempDir(t), "data"), sock)
	if err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Fatalf("agent on a regular file: %v, want is not a socket", err)
	}
	if err := os.Remove(sock); err != nil {
		t.Fatal(err)
	}

	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close() // the file stays, nobody listens: a dead agent's socket
	ta := newTestAgent(t, agentOpts{edit: func(c *config.Config) { c.Agent.Socket = sock }})
	if err := ta.c.Health(ctxT(t)); err != nil {
		t.Fatalf("agent over a stale socket: %v", err)
	}
}

// runAgentOnce opens an agent on dataDir serving on sock and runs it; it
// returns Run's error, or stops the agent and fails the test if it serves.
func runAgentOnce(t *testing.T, dataDir, sock string) error {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir, cfg.ClientName, cfg.Agent.Socket = dataDir, "alice", sock
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Encryption.Recipients = []string{id.Recipient().String()}
	testSigningKey(t, cfg)
	a, err := Open(context.Background(), cfg, slog.New(slog.DiscardHandler), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = a.Run(ctx)
	if err == nil {
		t.Fatalf("the agent served on %s", sock)
	}
	return err
}

// dirNames lists dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}
