package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/agent"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/localstore"
)

// TestFullDiskSIGTERMExitsZero: an agent whose data directory filled up
// (a transition failed for lack of space, the store is unhealthy) still
// stops with exit code 0 on SIGTERM — nothing acknowledged is lost, the
// log holds it — and every acknowledged transition is there afterwards.
// As root it runs the real process on a tmpfs and sends SIGTERM; where
// mounting is not permitted it runs the agent command in-process on the
// fault-injecting file system and ends its context, as main's SIGTERM
// handler does.
func TestFullDiskSIGTERMExitsZero(t *testing.T) {
	dir, err := os.MkdirTemp("", "agfull") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	diskDir := filepath.Join(dir, "disk")
	if err := os.Mkdir(diskDir, 0o700); err != nil {
		t.Fatal(err)
	}
	disk, err := fsx.NewSmallDisk(diskDir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = disk.Close() })
	t.Logf("tmpfs: %v", disk.Tmpfs)
	keys := keygen(t, filepath.Join(dir, "id.txt"))
	dataDir := filepath.Join(diskDir, "data")
	cfg := filepath.Join(dir, "agent.yaml")
	doc := fmt.Sprintf("data_dir: %s\nclient_name: full\n%sdestination: {type: dir, dir: {path: %s}}\nsnapshot: {every_epochs: 0, jitter: 0s}\n",
		dataDir, keys.agentYAML(), filepath.Join(dir, "bucket"))
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--config", cfg, "--log-level", "info", "agent"}

	var logs lockedBuffer
	var sigterm func()
	exited := make(chan int, 1)
	if disk.Tmpfs {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(dir, "mlsbackup")
		if err := os.Symlink(exe, bin); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "MLSBACKUP_CONFIG=")
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			err := cmd.Wait()
			var ee *exec.ExitError
			switch {
			case err == nil:
				exited <- 0
			case errors.As(err, &ee):
				exited <- ee.ExitCode()
			default:
				exited <- -1
			}
		}()
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		sigterm = func() {
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Error(err)
			}
		}
	} else {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		a := &app{st: streams{in: strings.NewReader(""), out: &logs, err: &logs}, fs: disk.FS()}
		c := a.cli()
		go func() { exited <- exitCode(c.RunContext(ctx, interspersed(c, append([]string{"mlsbackup"}, args...)))) }()
		sigterm = cancel
	}

	socket := filepath.Join(dataDir, "agent.sock")
	var cl *agent.Client
	waitFor(t, "the agent to answer", func() bool {
		cl, err = agent.Dial(socket)
		return err == nil
	})
	defer cl.Close()
	ctx := context.Background()
	var acked []string
	create := func(i int) error {
		info, err := cl.Create(ctx, agent.CreateRequest{Name: fmt.Sprintf("sigterm-group-%03d", i)})
		if err == nil {
			acked = append(acked, info.GroupID)
		}
		return err
	}
	if err := create(0); err != nil {
		t.Fatal(err)
	}
	if err := disk.Fill(); err != nil {
		t.Fatal(err)
	}
	var failure error
	for i := 1; i < 100 && failure == nil; i++ {
		failure = create(i)
	}
	var ae *agent.APIError
	if !errors.As(failure, &ae) || ae.Status != http.StatusServiceUnavailable {
		t.Fatalf("create on a full disk: %v, want 503", failure)
	}

	sigterm() // with the disk still full
	select {
	case code := <-exited:
		if code != 0 {
			t.Fatalf("agent exited with %d after SIGTERM on a full disk, want 0; log:\n%s", code, logs.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("agent did not exit after SIGTERM; log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "agent stopped") {
		t.Errorf("log lacks %q:\n%s", "agent stopped", logs.String())
	}

	if err := disk.Free(); err != nil {
		t.Fatal(err)
	}
	st, _, err := localstore.Open(ctx, disk.FS(), dataDir, localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	groups, err := st.Groups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, g := range groups {
		have[fmt.Sprintf("%x", g)] = true
	}
	for _, id := range acked {
		if !have[id] {
			t.Errorf("acknowledged group %s is gone after the restart", id)
		}
	}
}
