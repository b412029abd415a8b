package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

const stream = `{"Action":"start","Package":"ex/a"}
{"Action":"run","Package":"ex/a","Test":"TestOK"}
{"Action":"output","Package":"ex/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"output","Package":"ex/a","Test":"TestOK","Output":"secret-noise-of-a-passing-test\n"}
{"Action":"pass","Package":"ex/a","Test":"TestOK","Elapsed":0.1}
{"Action":"run","Package":"ex/a","Test":"TestBad"}
{"Action":"output","Package":"ex/a","Test":"TestBad","Output":"    a_test.go:9: got 1, want 2\n"}
{"Action":"fail","Package":"ex/a","Test":"TestBad","Elapsed":0.2}
{"Action":"run","Package":"ex/a","Test":"TestSkip"}
{"Action":"skip","Package":"ex/a","Test":"TestSkip","Elapsed":0}
{"Action":"output","Package":"ex/a","Output":"FAIL\n"}
{"Action":"fail","Package":"ex/a","Elapsed":1.5}
{"Action":"start","Package":"ex/b"}
{"Action":"pass","Package":"ex/b","Test":"TestB","Elapsed":0}
{"Action":"pass","Package":"ex/b","Elapsed":0.3}
{"Action":"start","Package":"ex/c"}
{"Action":"run","Package":"ex/c","Test":"TestHang"}
{"Action":"output","Package":"ex/c","Test":"TestHang","Output":"panic: test timed out after 1s\n"}
{"Action":"fail","Package":"ex/c","Elapsed":1}
{"ImportPath":"ex/d","Action":"build-output","Output":"d.go:3:1: syntax error\n"}
{"ImportPath":"ex/d","Action":"build-fail"}
{"Action":"skip","Package":"ex/e","Elapsed":0}
not json: copied through
`

func TestReport(t *testing.T) {
	var out bytes.Buffer
	r := newReporter(&out, time.Now)
	if err := r.consume(strings.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	if r.finish() {
		t.Errorf("finish() = true, want false after failures")
	}
	got := out.String()
	for _, want := range []string{
		"--- FAIL ex/a TestBad (0.20s)\n    " + "    a_test.go:9: got 1, want 2\n",
		"FAIL  ex/a 1.5s\n",
		"ok    ex/b 0.3s (1 tests)\n",
		"FAIL  ex/c 1.0s\n",
		"--- unfinished: TestHang\n    panic: test timed out after 1s\n",
		"FAIL  ex/d [build failed]\n    d.go:3:1: syntax error\n",
		"-     ex/e [no test files]\n",
		"not json: copied through\n",
		"failed packages: ex/a ex/c ex/d\n",
		"2 passed, 1 failed, 1 skipped\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q\n--- report:\n%s", want, got)
		}
	}
	if strings.Contains(got, "secret-noise-of-a-passing-test") {
		t.Errorf("report prints the output of a passing test:\n%s", got)
	}
	if !strings.HasSuffix(got, "2 passed, 1 failed, 1 skipped\n") {
		t.Errorf("the summary is not the last line:\n%s", got)
	}
}

func TestReportAllPassed(t *testing.T) {
	var out bytes.Buffer
	r := newReporter(&out, time.Now)
	in := `{"Action":"start","Package":"p"}
{"Action":"pass","Package":"p","Test":"T1","Elapsed":0}
{"Action":"pass","Package":"p","Test":"T1/sub","Elapsed":0}
{"Action":"pass","Package":"p","Elapsed":0.1}
`
	if err := r.consume(strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if !r.finish() {
		t.Errorf("finish() = false, want true")
	}
	if got, want := out.String(), "ok    p 0.1s (2 tests)\n2 passed, 0 failed, 0 skipped\n"; got != want {
		t.Errorf("report = %q, want %q", got, want)
	}
}

func TestRunningNote(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := newReporter(&bytes.Buffer{}, func() time.Time { return now })
	if got := r.runningLocked(); got != "building" {
		t.Errorf("before any package: %q, want building", got)
	}
	r.handle(event{Action: "start", Package: "b"})
	r.handle(event{Action: "start", Package: "a"})
	now = now.Add(90 * time.Second)
	if got, want := r.runningLocked(), "still running: a (90s), b (90s)"; got != want {
		t.Errorf("runningLocked() = %q, want %q", got, want)
	}
}
