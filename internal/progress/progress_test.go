package progress

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock returns a settable clock, safe to read from the Reporter's
// goroutine while the test moves it.
func fakeClock() (now func() time.Time, advance func(time.Duration)) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var off atomic.Int64
	return func() time.Time { return t0.Add(time.Duration(off.Load())) }, func(d time.Duration) { off.Add(int64(d)) }
}

// written returns what r wrote to b so far. r writes only while it holds
// its lock, so reading under the lock is safe while its goroutine runs.
func written(r *Reporter, b *bytes.Buffer) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return b.String()
}

const clear = "\r\x1b[K"

// TestTerminalBarRedrawThrottled: on a terminal the bar is redrawn in
// place, by Add and by the ticker, at most once per redrawEvery, and only
// Done ends the line.
func TestTerminalBarRedrawThrottled(t *testing.T) {
	now, advance := fakeClock()
	var out bytes.Buffer
	tick := make(chan time.Time)
	r := start(context.Background(), &out, Options{Label: "restore", Unit: "groups", Terminal: true, Now: now}, tick, nil)

	r.Update(0, 4, "")
	if got := strings.Count(written(r, &out), clear); got != 1 || !strings.Contains(written(r, &out), "0/4 groups") {
		t.Fatalf("after Update(0, 4): %q, want one bar with 0/4 groups", written(r, &out))
	}
	advance(50 * time.Millisecond)
	r.Add(1, "g1")
	if got := strings.Count(written(r, &out), clear); got != 1 {
		t.Fatalf("Add within %v redrew: %q", redrawEvery, written(r, &out))
	}
	advance(150 * time.Millisecond)
	r.Add(1, "g2")
	s := written(r, &out)
	last := s[strings.LastIndex(s, clear):]
	for _, want := range []string{"restore [", "2/4 groups", " 50%", "10.0/s", "ETA 200ms", "g2"} {
		if !strings.Contains(last, want) {
			t.Errorf("bar %q lacks %q", last, want)
		}
	}
	// A tick redraws only once redrawEvery has passed; the second tick
	// of each pair is received only after the first has been handled.
	tick <- now()
	tick <- now()
	if got := strings.Count(written(r, &out), clear); got != 2 {
		t.Fatalf("ticks within %v redrew: %d bars, want 2", redrawEvery, got)
	}
	advance(time.Second)
	tick <- now()
	tick <- now()
	if got := strings.Count(written(r, &out), clear); got != 3 {
		t.Fatalf("tick after %v: %d bars, want 3", time.Second, got)
	}
	if strings.Contains(written(r, &out), "\n") {
		t.Fatalf("the bar ended its line before Done: %q", written(r, &out))
	}
	r.Add(2, "g4")
	r.Done()
	s = written(r, &out)
	if last = s[strings.LastIndex(s, clear):]; !strings.HasSuffix(last, "\n") || !strings.Contains(last, "4/4 groups  100%") ||
		!strings.Contains(last, "[====================]") || strings.Contains(last, "ETA") {
		t.Errorf("final bar %q, want a full bar, 4/4 and 100%%, no ETA, ending the line", last)
	}
	r.Done()
	if written(r, &out) != s {
		t.Errorf("a second Done wrote %q", strings.TrimPrefix(written(r, &out), s))
	}
}

// TestTerminalBarUnknownTotalAndWidth: without a total the bar shows the
// count only; a long item is cut to the width.
func TestTerminalBarUnknownTotalAndWidth(t *testing.T) {
	now, advance := fakeClock()
	var out bytes.Buffer
	r := start(context.Background(), &out, Options{Label: "copy", Terminal: true, Width: 40, Now: now}, nil, nil)
	advance(time.Second)
	r.Add(3, strings.Repeat("ab", 40))
	line := strings.TrimPrefix(out.String(), clear)
	if !strings.HasPrefix(line, "copy  3 items  3.0/s  abab") || strings.Contains(line, "[") || strings.Contains(line, "%") {
		t.Errorf("bar without total = %q", line)
	}
	if n := len([]rune(line)); n != 39 || !strings.HasSuffix(line, "…") {
		t.Errorf("bar is %d runes (%q), want 39 ending in an ellipsis", n, line)
	}
	r.Done()
}

// TestPlainLinesEveryTenth: off a terminal a line is written per tenth
// of the total and a final one, with no carriage return or escape.
func TestPlainLinesEveryTenth(t *testing.T) {
	now, advance := fakeClock()
	var out bytes.Buffer
	r := start(context.Background(), &out, Options{Label: "verify", Unit: "snapshots", Total: 100, Now: now}, nil, nil)
	for i := range 100 {
		advance(10 * time.Millisecond)
		r.Add(1, fmt.Sprint("item", i))
	}
	r.Done()
	s := out.String()
	if strings.ContainsAny(s, "\r\x1b") || strings.Contains(s, "item") {
		t.Errorf("plain output holds a control character or an item: %q", s)
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) != 10 {
		t.Fatalf("%d lines, want 10:\n%s", len(lines), s)
	}
	if want := "verify: 10/100 snapshots (10%), 100/s, ETA 900ms"; lines[0] != want {
		t.Errorf("first line %q, want %q", lines[0], want)
	}
	if want := "verify: 100/100 snapshots (100%) in 1s, 100/s"; lines[9] != want {
		t.Errorf("final line %q, want %q", lines[9], want)
	}
}

// TestPlainLinesByTime: when the count moves slowly, or the total is
// unknown, a line is written at most every lineEvery.
func TestPlainLinesByTime(t *testing.T) {
	for _, tt := range []struct {
		name  string
		total int
		want  []string
	}{
		{"slow", 1000, []string{"r: 3/1000 items (0%), 0.5/s, ETA 33m14s", "r: 6/1000 items (0%), 0.5/s, ETA 33m8s", "r: 7/1000 items (0%) in 14s, 0.5/s"}},
		{"unknown total", 0, []string{"r: 3 items, 0.5/s", "r: 6 items, 0.5/s", "r: 7 items in 14s, 0.5/s"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now, advance := fakeClock()
			var out bytes.Buffer
			r := start(context.Background(), &out, Options{Label: "r", Total: tt.total, Now: now}, nil, nil)
			for range 7 {
				advance(2 * time.Second)
				r.Add(1, "")
			}
			r.Done()
			if got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"); strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("lines\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestDoneWithNothingCounted: Done writes no line when nothing was
// counted or announced, and clears a bar the ticker drew meanwhile.
func TestDoneWithNothingCounted(t *testing.T) {
	var out bytes.Buffer
	start(context.Background(), &out, Options{Label: "x"}, nil, nil).Done()
	if out.String() != "" {
		t.Errorf("plain Done with nothing counted wrote %q", out.String())
	}
	tick := make(chan time.Time)
	r := start(context.Background(), &out, Options{Label: "x", Terminal: true}, tick, nil)
	tick <- time.Now()
	tick <- time.Now() // received once the first one was handled
	r.Done()
	if s := out.String(); s != clear+"x  0 items"+clear {
		t.Errorf("terminal Done with nothing counted: %q, want the bar cleared", s)
	}
}

// TestAboveClearsTheBar: output written through Above starts on a clean
// line, and the bar is redrawn at the next count even within redrawEvery
// (and by Done a last time, ending its line).
func TestAboveClearsTheBar(t *testing.T) {
	now, _ := fakeClock()
	var out bytes.Buffer
	r := start(context.Background(), &out, Options{Label: "restore", Total: 2, Terminal: true, Now: now}, nil, nil)
	r.Add(1, "")
	fmt.Fprintln(r.Above(&out), "  restored group 01")
	r.Add(1, "")
	r.Done()
	want := clear + "restore [==========>         ]  1/2 items   50%" +
		clear + "  restored group 01\n" +
		clear + "restore [====================]  2/2 items  100%" +
		clear + "restore [====================]  2/2 items  100%\n"
	if s := out.String(); s != want {
		t.Errorf("output\n%q\nwant\n%q", s, want)
	}
	var plain bytes.Buffer
	if w := start(context.Background(), &out, Options{}, nil, nil).Above(&plain); w != &plain {
		t.Errorf("Above in plain mode wraps the writer")
	}
}

// TestNilReporter: the nil Reporter does nothing.
func TestNilReporter(t *testing.T) {
	var r *Reporter
	r.SetTotal(3)
	r.Add(1, "a")
	r.Update(2, 3, "b")
	r.Done()
	var b bytes.Buffer
	if r.Above(&b) != &b {
		t.Error("nil Reporter's Above wraps the writer")
	}
}

// TestConcurrentUse: counts from many goroutines, results written
// through Above meanwhile, and the ticker all run at once (run with
// -race); the final line has every item, and Done returns only after the
// ticker goroutine ended.
func TestConcurrentUse(t *testing.T) {
	for _, terminal := range []bool{true, false} {
		t.Run(fmt.Sprint("terminal=", terminal), func(t *testing.T) {
			// The Reporter serializes its writes to out; the results
			// are serialized by the caller (as restore.Run does), which
			// plain mode relies on.
			var (
				out, results bytes.Buffer
				resultsMu    sync.Mutex
			)
			r := Start(context.Background(), &out, Options{Label: "c", Unit: "groups", Total: 800, Terminal: terminal})
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					for i := range 100 {
						r.Add(1, fmt.Sprintf("g%d-%d", g, i))
						if i%10 == 0 {
							resultsMu.Lock()
							fmt.Fprintln(r.Above(&results), "done", g, i)
							resultsMu.Unlock()
						}
					}
				})
			}
			wg.Wait()
			r.Done()
			select {
			case <-r.stopped:
			default:
				t.Fatal("Done returned before the ticker goroutine ended")
			}
			s := out.String()
			if !strings.HasSuffix(s, "\n") || !strings.Contains(s[strings.LastIndexAny(s[:len(s)-1], "\r\n")+1:], "800/800 groups") {
				t.Errorf("final output %q lacks 800/800 groups", s[max(len(s)-120, 0):])
			}
			if n := strings.Count(results.String(), "\n"); n != 80 {
				t.Errorf("%d result lines, want 80", n)
			}
		})
	}
}

// TestTickerStopsWithContext: the redrawing goroutine ends when the
// context does, before Done.
func TestTickerStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	r := start(ctx, io.Discard, Options{Terminal: true}, make(chan time.Time), func() { close(stopped) })
	cancel()
	<-stopped // the test times out if the goroutine never ends
	r.Done()
}
