package uploader

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// ProgressEvent reports the state of one transfer.
type ProgressEvent struct {
	Op    string // "upload" or "download"
	Name  string // what moves, e.g. [Ref.String]
	Done  int64  // bytes transferred so far (plaintext for uploads, ciphertext for downloads)
	Total int64  // bytes expected, or -1 if unknown
	Final bool   // last event of this transfer
	Err   error  // with Final: nil on success
}

// Progress receives transfer progress. Report is called from the
// goroutine doing the transfer, often (every 64 KiB), possibly from several
// transfers at once; implementations must be cheap and safe for concurrent
// use.
type Progress interface {
	Report(ev ProgressEvent)
}

// noProgress discards events.
type noProgress struct{}

func (noProgress) Report(ProgressEvent) {}

// IsTerminal reports whether w is a character device such as a terminal.
// Only *os.File values can be; /dev/null also counts, which is harmless.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// NewTerminalProgress returns a [Progress] that redraws one status line on
// w when w is a terminal (see [IsTerminal]), at most ten times a second,
// and ends it with a newline when the transfer ends. For any other w it
// returns a Progress that writes nothing, so logs and pipes stay clean.
func NewTerminalProgress(w io.Writer) Progress {
	if !IsTerminal(w) {
		return noProgress{}
	}
	return newLineProgress(w, time.Now)
}

// lineProgress draws one line per transfer with carriage returns.
type lineProgress struct {
	w   io.Writer
	now func() time.Time

	mu     sync.Mutex
	last   time.Time
	starts map[string]time.Time
}

func newLineProgress(w io.Writer, now func() time.Time) *lineProgress {
	return &lineProgress{w: w, now: now, starts: make(map[string]time.Time)}
}

// redrawEvery bounds how often the line is redrawn.
const redrawEvery = 100 * time.Millisecond

// Report implements [Progress].
func (p *lineProgress) Report(ev ProgressEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	id := ev.Op + " " + ev.Name
	start, ok := p.starts[id]
	if !ok {
		start = now
		p.starts[id] = start
	}
	if !ev.Final && now.Sub(p.last) < redrawEvery {
		return
	}
	p.last = now
	line := ev.Op + " " + ev.Name + "  " + humanBytes(ev.Done)
	if ev.Total >= 0 {
		line += " / " + humanBytes(ev.Total)
		if ev.Total > 0 {
			line += fmt.Sprintf("  %3d%%", ev.Done*100/ev.Total)
		}
	}
	if secs := now.Sub(start).Seconds(); secs > 0 {
		line += "  " + humanBytes(int64(float64(ev.Done)/secs)) + "/s"
	}
	end := ""
	if ev.Final {
		delete(p.starts, id)
		if ev.Err != nil {
			line += "  failed"
		} else {
			line += "  done"
		}
		end = "\n"
	}
	// \r returns to the line start, ESC[K clears the rest of it.
	fmt.Fprint(p.w, "\r\x1b[K"+line+end)
}

// humanBytes formats n with a binary unit.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
