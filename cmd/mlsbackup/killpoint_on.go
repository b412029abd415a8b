//go:build killpoint

package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

// dataFS is the file system of the data directory (the agent's and
// restore's). In this build, with the killpoint tag (tests only: the kill
// campaign of internal/killcampaign; never a release), it kills this
// process with SIGKILL right before an aimed operation — create, write,
// fsync, directory fsync, rename, link, remove: the operations fsx.Faulty
// counts — so that a test can aim a real kill -9 at every step of a
// request, of recovery or of restore:
//
//   - MLSBACKUP_KILL_AT=N kills at the Nth operation since the process
//     started (recovery at start; restore);
//   - on SIGUSR1 the process reads N from the file MLSBACKUP_KILL_FILE,
//     restarts its count and kills at the Nth operation after the signal
//     (0 disarms, also an aim from MLSBACKUP_KILL_AT); once armed it
//     writes "killpoint: armed N" to stderr.
//
// Right before the kill it writes "killpoint: kill N OP PATH" to stderr;
// with MLSBACKUP_KILL_TRACE=1 it writes "killpoint: op N OP PATH" before
// every counted operation (to see the steps of a request).
func dataFS() fsx.FS {
	k := &killpoint{trace: os.Getenv("MLSBACKUP_KILL_TRACE") == "1"}
	k.target.Store(envCount("MLSBACKUP_KILL_AT"))
	if file := os.Getenv("MLSBACKUP_KILL_FILE"); file != "" {
		usr1 := make(chan os.Signal, 1)
		signal.Notify(usr1, syscall.SIGUSR1)
		go func() {
			for range usr1 {
				k.arm(file)
			}
		}()
	}
	return fsx.NewFaulty(fsx.OS{}, fsx.FaultyOptions{Before: k.before})
}

// killpoint counts the data directory's operations and kills at target.
type killpoint struct {
	count  atomic.Int64
	target atomic.Int64 // 0: never
	hit    atomic.Bool
	trace  bool
}

// arm reads the target from file and restarts the count.
func (k *killpoint) arm(file string) {
	b, err := os.ReadFile(file)
	n, perr := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || perr != nil || n < 0 {
		fmt.Fprintf(os.Stderr, "killpoint: cannot arm from %s: %v %v\n", file, err, perr)
		return
	}
	k.target.Store(0)
	k.count.Store(0)
	k.target.Store(n)
	fmt.Fprintf(os.Stderr, "killpoint: armed %d\n", n)
}

// before runs before every counted operation: at the target it kills the
// process, and every operation from then on waits for the kill to land.
func (k *killpoint) before(_ int64, op fsx.Op, path string, _ []byte) {
	if k.hit.Load() {
		select {}
	}
	n := k.count.Add(1)
	if k.trace {
		fmt.Fprintf(os.Stderr, "killpoint: op %d %s %s\n", n, op, path)
	}
	if t := k.target.Load(); t == 0 || n != t {
		return
	}
	k.hit.Store(true)
	fmt.Fprintf(os.Stderr, "killpoint: kill %d %s %s\n", n, op, path)
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

// envCount reads a non-negative count from the environment (0 if unset).
func envCount(name string) int64 {
	s := os.Getenv(name)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		fmt.Fprintf(os.Stderr, "killpoint: %s=%q is not a count; not armed\n", name, s)
		return 0
	}
	return n
}
