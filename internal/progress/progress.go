// Package progress reports how far a command that works through many items
// (groups restored, snapshots verified, objects copied) has got.
//
// A [Reporter] writes to one stream, the command's standard error, never its
// standard output (which carries results and JSON). On a terminal it keeps a
// single line up to date, redrawn at most ten times a second:
//
//	restore [=========>          ]  12/40 groups  30%  3.1/s  ETA 9s  0a1b2c…
//
// Anywhere else (a pipe, a file, the journal of a scheduled job) it writes
// plain lines, one each time another tenth of the items is done or, when
// the count moves slowly or the total is unknown, at most one every five
// seconds, and a final line from [Reporter.Done]:
//
//	restore: 12/40 groups (30%), 3.1/s, ETA 9s
//	restore: 40/40 groups (100%) in 13s, 3.1/s
//
// A Reporter is safe for concurrent use. The nil *Reporter is valid and
// reports nothing, so a command calls it whether or not it shows progress.
package progress

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Options configure a [Reporter].
type Options struct {
	// Label starts every line, e.g. "restore".
	Label string
	// Unit names the items, e.g. "groups"; default "items".
	Unit string
	// Total is the number of items, 0 if not known yet (see
	// [Reporter.SetTotal]).
	Total int
	// Terminal draws a bar redrawn in place; otherwise plain lines are
	// written. The caller decides (uploader.IsTerminal of the stream).
	Terminal bool
	// Width is the terminal's width in columns; default 80.
	Width int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// The rhythm of the output.
const (
	// redrawEvery bounds how often the terminal line is redrawn.
	redrawEvery = 100 * time.Millisecond
	// lineEvery is the longest wait between two plain lines while the
	// count moves.
	lineEvery = 5 * time.Second
	// steps is how many plain lines a known total is split into.
	steps = 10
)

// Reporter counts items and shows the count; see the package doc.
type Reporter struct {
	w    io.Writer
	opts Options

	mu       sync.Mutex
	start    time.Time
	total    int
	done     int
	item     string
	last     time.Time // last draw or line
	lastStep int       // plain mode: the tenth of total last reported
	drawn    bool      // terminal mode: the bar is on the current line
	finished bool

	stop    chan struct{} // closed by Done: the ticker goroutine ends
	stopped chan struct{} // closed when the ticker goroutine has ended
}

// Start returns a Reporter writing to w. In terminal mode a goroutine
// redraws the line ten times a second (so that rate and ETA stay current
// while one item takes long) until [Reporter.Done] is called or ctx ends.
func Start(ctx context.Context, w io.Writer, opts Options) *Reporter {
	if !opts.Terminal {
		return start(ctx, w, opts, nil, nil)
	}
	t := time.NewTicker(redrawEvery)
	return start(ctx, w, opts, t.C, t.Stop)
}

// start is Start with the ticks given, so tests can drive them; stopTick,
// if set, is called when the goroutine reading them ends.
func start(ctx context.Context, w io.Writer, opts Options, tick <-chan time.Time, stopTick func()) *Reporter {
	if opts.Unit == "" {
		opts.Unit = "items"
	}
	if opts.Width <= 0 {
		opts.Width = 80
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Reporter{w: w, opts: opts, start: opts.Now(), total: max(opts.Total, 0),
		stop: make(chan struct{}), stopped: make(chan struct{})}
	if !opts.Terminal {
		// The first plain line by time comes lineEvery after the start.
		r.last = r.start
	}
	if tick == nil {
		close(r.stopped)
		return r
	}
	go func() {
		defer close(r.stopped)
		if stopTick != nil {
			defer stopTick()
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-r.stop:
				return
			case <-tick:
				r.mu.Lock()
				r.show(false)
				r.mu.Unlock()
			}
		}
	}()
	return r
}

// SetTotal sets the number of items once it is known.
func (r *Reporter) SetTotal(total int) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total = max(total, 0)
}

// Add counts n more items done; item, if not empty, names the latest one
// (shown on a terminal only).
func (r *Reporter) Add(n int, item string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done += n
	if item != "" {
		r.item = item
	}
	r.show(false)
}

// Update sets the count to done of total, with item as in [Reporter.Add];
// it has the shape of the progress hooks of internal/restore.
func (r *Reporter) Update(done, total int, item string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done, r.total = done, max(total, 0)
	if item != "" {
		r.item = item
	}
	r.show(false)
}

// Done writes the final line (nothing if no item was ever counted or
// announced; a bar drawn meanwhile is cleared) and stops the redrawing goroutine; it returns once that has
// ended. Calls after the first do nothing.
func (r *Reporter) Done() {
	if r == nil {
		return
	}
	r.mu.Lock()
	if !r.finished {
		r.finished = true
		close(r.stop)
		switch {
		case r.done > 0 || r.total > 0:
			r.show(true)
		case r.drawn:
			fmt.Fprint(r.w, "\r\x1b[K")
			r.drawn = false
		}
	}
	r.mu.Unlock()
	<-r.stopped
}

// Above returns a writer to w for output that must not run into the bar
// (results printed while the work goes on): on a terminal each write first
// clears the bar, which the next redraw puts back. For the nil Reporter or
// plain lines it returns w.
func (r *Reporter) Above(w io.Writer) io.Writer {
	if r == nil || !r.opts.Terminal {
		return w
	}
	return aboveWriter{r: r, w: w}
}

type aboveWriter struct {
	r *Reporter
	w io.Writer
}

func (a aboveWriter) Write(p []byte) (int, error) {
	a.r.mu.Lock()
	defer a.r.mu.Unlock()
	if a.r.drawn {
		fmt.Fprint(a.r.w, "\r\x1b[K")
		a.r.drawn = false
		a.r.last = time.Time{}
	}
	return a.w.Write(p)
}

// show draws the bar or writes a plain line if it is time to; final draws
// the last one. The caller holds r.mu.
func (r *Reporter) show(final bool) {
	if r.finished && !final {
		return
	}
	now := r.opts.Now()
	if r.opts.Terminal {
		if !final && now.Sub(r.last) < redrawEvery {
			return
		}
		r.last, r.drawn = now, !final
		end := ""
		if final {
			end = "\n"
		}
		// \r returns to the line start, ESC[K clears the rest of it.
		fmt.Fprint(r.w, "\r\x1b[K"+r.bar(now)+end)
		return
	}
	if !final && !r.lineDue(now) {
		return
	}
	r.last = now
	fmt.Fprintln(r.w, r.line(now, final))
}

// lineDue reports whether a plain line is due: another tenth of the total
// done, or lineEvery passed since the last line with something new done.
// The line for the last item is left to Done.
func (r *Reporter) lineDue(now time.Time) bool {
	if r.done <= 0 || (r.total > 0 && r.done >= r.total) {
		return false
	}
	if r.total > 0 {
		if step := r.done * steps / r.total; step > r.lastStep {
			r.lastStep = step
			return true
		}
	}
	return now.Sub(r.last) >= lineEvery
}

// line is a plain line: count, percent, rate and ETA, or at the end the
// time taken.
func (r *Reporter) line(now time.Time, final bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", r.opts.Label, r.count())
	if r.total > 0 {
		fmt.Fprintf(&b, " (%d%%)", r.percent())
	}
	elapsed := now.Sub(r.start)
	if final {
		fmt.Fprintf(&b, " in %s", roundDuration(elapsed))
	}
	if rate := r.rate(elapsed); rate > 0 {
		fmt.Fprintf(&b, ", %s/s", formatRate(rate))
		if eta, ok := r.eta(rate); ok && !final {
			fmt.Fprintf(&b, ", ETA %s", eta)
		}
	}
	return b.String()
}

// bar is the terminal line, cut to the width.
func (r *Reporter) bar(now time.Time) string {
	var b strings.Builder
	b.WriteString(r.opts.Label)
	if r.total > 0 {
		const width = 20
		fill := min(r.done*width/r.total, width)
		head := ""
		if fill < width {
			head = ">"
		}
		fmt.Fprintf(&b, " [%s%s%s]", strings.Repeat("=", fill), head, strings.Repeat(" ", max(width-fill-len(head), 0)))
	}
	fmt.Fprintf(&b, "  %s", r.count())
	if r.total > 0 {
		fmt.Fprintf(&b, "  %3d%%", r.percent())
	}
	if rate := r.rate(now.Sub(r.start)); rate > 0 {
		fmt.Fprintf(&b, "  %s/s", formatRate(rate))
		if eta, ok := r.eta(rate); ok {
			fmt.Fprintf(&b, "  ETA %s", eta)
		}
	}
	if r.item != "" {
		fmt.Fprintf(&b, "  %s", r.item)
	}
	return truncate(b.String(), r.opts.Width-1)
}

func (r *Reporter) count() string {
	if r.total > 0 {
		return fmt.Sprintf("%d/%d %s", r.done, r.total, r.opts.Unit)
	}
	return fmt.Sprintf("%d %s", r.done, r.opts.Unit)
}

func (r *Reporter) percent() int { return min(r.done*100/r.total, 100) }

// rate is items per second, 0 before the first item or the first
// millisecond.
func (r *Reporter) rate(elapsed time.Duration) float64 {
	if r.done <= 0 || elapsed < time.Millisecond {
		return 0
	}
	return float64(r.done) / elapsed.Seconds()
}

// eta is the time left at rate; ok is false when the total is unknown or
// reached.
func (r *Reporter) eta(rate float64) (string, bool) {
	if r.total <= 0 || r.done >= r.total || rate <= 0 {
		return "", false
	}
	left := time.Duration(float64(r.total-r.done) / rate * float64(time.Second))
	return roundDuration(left).String(), true
}

// roundDuration rounds d to what a person reads: seconds, tenths of a
// second below ten seconds, milliseconds below one.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond)
	case d < 10*time.Second:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

func formatRate(rate float64) string {
	if rate >= 100 {
		return fmt.Sprintf("%.0f", rate)
	}
	return fmt.Sprintf("%.1f", rate)
}

// truncate cuts s to n runes, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	rs := []rune(s)
	if len(rs) <= n || n < 1 {
		return s
	}
	return string(rs[:n-1]) + "…"
}
