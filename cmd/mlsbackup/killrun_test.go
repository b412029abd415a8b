package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/agent"
	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// This file runs copy and rekey as real processes (this test binary,
// named mlsbackup: see TestMain) and kills them with SIGKILL from outside
// at aimed points: after the Nth progress line on stderr (one per
// snapshot handled, since stderr is a pipe) and a random delay, or at a
// random time from the start.

// progressLine matches the lines of migrate.Lines: "copied 3/9 group ...".
var progressLine = regexp.MustCompile(`^[A-Za-z]+ \d+/\d+ group `)

// aim says when to kill a run: delay after the line-th progress line, or
// after the start if line is 0. A zero aim never kills.
type aim struct {
	line  int
	delay time.Duration
}

func (a aim) String() string {
	if a.line == 0 {
		return fmt.Sprintf("%v after the start", a.delay.Round(time.Microsecond))
	}
	return fmt.Sprintf("%v after progress line %d", a.delay.Round(time.Microsecond), a.line)
}

// never is the aim of a run that must complete.
var never = aim{line: -1}

// procRun is how one run of the binary ended.
type procRun struct {
	killed         bool // by our SIGKILL
	code           int  // exit code if not killed
	lines          int  // progress lines seen
	stdout, stderr string
	at             []time.Duration // when each progress line came, from the start
	took           time.Duration
}

func (r procRun) String() string {
	how := fmt.Sprintf("exit %d", r.code)
	if r.killed {
		how = "killed"
	}
	return fmt.Sprintf("%s after %d progress lines in %v\nstdout:\n%s\nstderr:\n%s", how, r.lines, r.took, r.stdout, r.stderr)
}

// selfAsMlsbackup returns the path of a symbolic link named mlsbackup, in
// a new directory, to this test binary: run by that name it is the
// mlsbackup command (TestMain).
func selfAsMlsbackup(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "mlsbackup")
	if err := os.Symlink(exe, bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

// runAimed runs bin with args and kills it with SIGKILL as a says.
func runAimed(t *testing.T, bin string, a aim, args ...string) procRun {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "MLSBACKUP_CONFIG=", "TERM=dumb")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	kill := func() { _ = cmd.Process.Signal(syscall.SIGKILL) }
	if a.line == 0 {
		time.AfterFunc(a.delay, kill)
	}
	var errLines []string
	var at []time.Duration
	n := 0
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		l := sc.Text()
		errLines = append(errLines, l)
		if progressLine.MatchString(l) {
			n++
			at = append(at, time.Since(start))
			if n == a.line {
				time.AfterFunc(a.delay, kill)
			}
		}
	}
	werr := cmd.Wait()
	r := procRun{lines: n, stdout: stdout.String(), stderr: strings.Join(errLines, "\n"), at: at, took: time.Since(start)}
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	var ee *exec.ExitError
	switch {
	case ws.Signaled() && ws.Signal() == syscall.SIGKILL:
		r.killed = true
	case werr == nil:
	case errors.As(werr, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("%s: %v", strings.Join(args, " "), werr)
	}
	return r
}

// mustComplete runs bin with args to completion and fails the test unless it
// exits with 0; it returns stdout.
func mustComplete(t *testing.T, bin string, args ...string) string {
	t.Helper()
	r := runAimed(t, bin, never, args...)
	if r.code != 0 {
		t.Fatalf("mlsbackup %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// killSeed returns the seed of the random aims: MLSBACKUP_KILL_SEED if
// set (to replay a failure), else a fresh one; it is logged.
func killSeed(t *testing.T) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("MLSBACKUP_KILL_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("MLSBACKUP_KILL_SEED=%q: %v", s, err)
		}
	}
	t.Logf("random aims from seed %d (replay: MLSBACKUP_KILL_SEED=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed))
}

// aims returns, from ref (an uninterrupted run), an aim after each of its
// progress lines with a random delay within the step that follows it in
// ref (up to the next line, or the exit after the last), then random
// ones at random times within ref's run.
func aims(rng *rand.Rand, ref procRun, random int) []aim {
	var out []aim
	for k, at := range ref.at {
		next := ref.took
		if k+1 < len(ref.at) {
			next = ref.at[k+1]
		}
		out = append(out, aim{line: k + 1, delay: randDur(rng, next-at)})
	}
	for range random {
		out = append(out, aim{delay: randDur(rng, ref.took)})
	}
	return out
}

// rerunAim is a random aim for a rerun of up to lines progress lines.
func rerunAim(rng *rand.Rand, lines int, step time.Duration) aim {
	return aim{line: 1 + rng.IntN(lines), delay: randDur(rng, step)}
}

func randDur(rng *rand.Rand, max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return time.Duration(rng.Int64N(int64(max)))
}

// snap names a snapshot by what a copy or rekey must keep: group, epoch
// and plaintext digest.
type snap struct {
	group  string
	epoch  uint64
	digest [32]byte
}

// prefixView opens the destination of the configuration file path for
// reading, trusting signers.
func prefixView(t *testing.T, path string, signers ...uploader.Signer) *uploader.Backup {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := agent.OpenDestination(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := uploader.New(st, uploader.Options{Prefix: cfg.Destination.Prefix, TrustedSigners: signers})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// snapshots lists b's complete snapshots; a listing error fails the test.
func snapshots(t *testing.T, b *uploader.Backup) (map[snap]int, []uploader.Manifest) {
	t.Helper()
	ms, err := b.List(context.Background(), nil)
	if err != nil {
		t.Fatalf("list %s: %v", b, err)
	}
	out := map[snap]int{}
	for _, m := range ms {
		out[snap{m.GroupHex(), m.Epoch, m.PlaintextSHA256}]++
	}
	return out, ms
}

// lost returns the snapshots of want that got lacks.
func lost(want, got map[snap]int) []snap {
	var out []snap
	for s := range want {
		if got[s] == 0 {
			out = append(out, s)
		}
	}
	return out
}

// leaseHolder returns the agent id that holds b's prefix, "" if none.
func leaseHolder(t *testing.T, b *uploader.Backup) string {
	t.Helper()
	l, err := b.ReadLease(context.Background())
	switch {
	case errors.Is(err, uploader.ErrNotFound):
		return ""
	case err != nil:
		t.Fatalf("read lease of %s: %v", b, err)
	}
	return l.AgentID
}
