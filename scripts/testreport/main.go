// Command testreport turns the event stream of `go test -json` (on stdin)
// into a readable progress report for scripts/test.sh: one line per
// finished package, the full output of every failing test or package, a
// note every minute naming the packages still running, and a closing line
// "N passed, N failed, N skipped" counting tests. It exits 1 if any test
// or package failed and 0 otherwise; the caller also checks go test's own
// exit status.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

func main() {
	r := newReporter(os.Stdout, time.Now)
	stop := make(chan struct{})
	go r.heartbeat(time.Minute, stop)
	err := r.consume(os.Stdin)
	close(stop)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testreport: %v\n", err)
		os.Exit(1)
	}
	if !r.finish() {
		os.Exit(1)
	}
}

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output and build-fail events
	Test       string
	Elapsed    float64
	Output     string
}

type key struct{ pkg, test string }

// reporter accumulates events; its methods are safe for the heartbeat
// goroutine and the reading loop.
type reporter struct {
	mu      sync.Mutex
	w       io.Writer
	now     func() time.Time
	output  map[key][]string // buffered output of running tests and packages
	running map[string]time.Time
	tests   map[string]int // per package: tests that passed
	passed  int
	failed  int
	skipped int
	pkgFail []string
}

func newReporter(w io.Writer, now func() time.Time) *reporter {
	return &reporter{w: w, now: now, output: map[key][]string{}, running: map[string]time.Time{}, tests: map[string]int{}}
}

// consume reads events until EOF. Lines that are not JSON (such as build
// errors printed by older go commands) are copied through.
func (r *reporter) consume(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil {
			r.mu.Lock()
			fmt.Fprintf(r.w, "%s\n", line)
			r.mu.Unlock()
			continue
		}
		r.handle(ev)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read go test output: %w", err)
	}
	return nil
}

func (r *reporter) handle(ev event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pkg := ev.Package
	if pkg == "" {
		pkg = ev.ImportPath
	}
	k := key{pkg, ev.Test}
	switch ev.Action {
	case "start":
		r.running[pkg] = r.now()
	case "build-output", "output":
		r.output[k] = append(r.output[k], ev.Output)
	case "build-fail":
		r.pkgFail = append(r.pkgFail, pkg)
		fmt.Fprintf(r.w, "FAIL  %s [build failed]\n", pkg)
		r.flush(k)
	case "pass", "fail", "skip":
		if ev.Test != "" {
			r.testDone(k, ev.Action, ev.Elapsed)
			return
		}
		r.packageDone(pkg, ev.Action, ev.Elapsed)
	}
}

func (r *reporter) testDone(k key, action string, elapsed float64) {
	switch action {
	case "pass":
		r.passed++
		r.tests[k.pkg]++
		delete(r.output, k)
	case "skip":
		r.skipped++
		delete(r.output, k)
	case "fail":
		r.failed++
		fmt.Fprintf(r.w, "--- FAIL %s %s (%.2fs)\n", k.pkg, k.test, elapsed)
		r.flush(k)
	}
}

func (r *reporter) packageDone(pkg, action string, elapsed float64) {
	delete(r.running, pkg)
	k := key{pkg, ""}
	switch action {
	case "pass":
		fmt.Fprintf(r.w, "ok    %s %.1fs (%d tests)\n", pkg, elapsed, r.tests[pkg])
	case "skip":
		fmt.Fprintf(r.w, "-     %s [no test files]\n", pkg)
	case "fail":
		r.pkgFail = append(r.pkgFail, pkg)
		fmt.Fprintf(r.w, "FAIL  %s %.1fs\n", pkg, elapsed)
		r.flush(k)
		// Output of tests that never ended (a panic or a timeout).
		for ok := range r.output {
			if ok.pkg == pkg {
				fmt.Fprintf(r.w, "--- unfinished: %s\n", ok.test)
				r.flush(ok)
			}
		}
	}
	for ok := range r.output {
		if ok.pkg == pkg {
			delete(r.output, ok)
		}
	}
}

// flush prints and forgets the buffered output of k.
func (r *reporter) flush(k key) {
	for _, line := range r.output[k] {
		fmt.Fprintf(r.w, "    %s", line)
		if !strings.HasSuffix(line, "\n") {
			fmt.Fprintln(r.w)
		}
	}
	delete(r.output, k)
}

// heartbeat reports the packages still running every interval until stop.
func (r *reporter) heartbeat(interval time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			r.mu.Lock()
			fmt.Fprintf(r.w, "...   %s\n", r.runningLocked())
			r.mu.Unlock()
		}
	}
}

func (r *reporter) runningLocked() string {
	if len(r.running) == 0 {
		return "building"
	}
	now := r.now()
	var parts []string
	for pkg, since := range r.running {
		parts = append(parts, fmt.Sprintf("%s (%ds)", pkg, int(now.Sub(since).Seconds())))
	}
	sort.Strings(parts)
	return "still running: " + strings.Join(parts, ", ")
}

// finish prints the closing summary and reports whether everything passed.
func (r *reporter) finish() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pkgFail) > 0 {
		fmt.Fprintf(r.w, "failed packages: %s\n", strings.Join(r.pkgFail, " "))
	}
	fmt.Fprintf(r.w, "%d passed, %d failed, %d skipped\n", r.passed, r.failed, r.skipped)
	return r.failed == 0 && len(r.pkgFail) == 0
}
