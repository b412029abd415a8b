package uploader

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLineProgress(t *testing.T) {
	clock := newFakeClock()
	var out bytes.Buffer
	p := newLineProgress(&out, clock.Now)
	ev := ProgressEvent{Op: "upload", Name: "group ab epoch 1", Total: 4 << 20}
	steps := []struct {
		advance time.Duration
		done    int64
		final   bool
		err     error
		want    string // "" means no redraw
	}{
		{0, 0, false, nil, "\r\x1b[Kupload group ab epoch 1  0 B / 4.0 MiB    0%"},
		{10 * time.Millisecond, 1 << 20, false, nil, ""},
		{time.Second, 2 << 20, false, nil, "\r\x1b[Kupload group ab epoch 1  2.0 MiB / 4.0 MiB   50%  2.0 MiB/s"},
		{time.Millisecond, 4 << 20, true, nil, "\r\x1b[Kupload group ab epoch 1  4.0 MiB / 4.0 MiB  100%  4.0 MiB/s  done\n"},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		out.Reset()
		ev.Done, ev.Final, ev.Err = s.done, s.final, s.err
		p.Report(ev)
		if got := out.String(); got != s.want {
			t.Errorf("step %d: drew %q, want %q", i, got, s.want)
		}
	}
	out.Reset()
	p.Report(ProgressEvent{Op: "download", Name: "x", Done: 10, Total: -1, Final: true, Err: errors.New("boom")})
	if got, want := out.String(), "\r\x1b[Kdownload x  10 B  failed\n"; got != want {
		t.Errorf("failed transfer drew %q, want %q", got, want)
	}
}

func TestTerminalProgressSilentOffTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, w := range []interface{ Write([]byte) (int, error) }{&bytes.Buffer{}, f} {
		if IsTerminal(w) {
			t.Errorf("%T counted as a terminal", w)
		}
		if _, ok := NewTerminalProgress(w).(noProgress); !ok {
			t.Errorf("progress on %T is not silent", w)
		}
	}
}

// recordingProgress keeps every event.
type recordingProgress struct {
	mu  sync.Mutex
	evs []ProgressEvent
}

func (r *recordingProgress) Report(ev ProgressEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, ev)
}

func TestTransfersReportProgress(t *testing.T) {
	rec := &recordingProgress{}
	b := newTestBackup(t, newMemStore(), newTestKeys(t), func(o *Options) { o.Progress = rec })
	data := randomBytes(t, 300_000)
	m := mustUpload(t, b, "g", 1, data)
	if err := b.Verify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	var up, down []ProgressEvent
	for _, ev := range rec.evs {
		if ev.Op == "upload" {
			up = append(up, ev)
		} else {
			down = append(down, ev)
		}
	}
	check := func(name string, evs []ProgressEvent, total int64) {
		if len(evs) < 3 {
			t.Fatalf("%s: %d events, want several", name, len(evs))
		}
		last := evs[len(evs)-1]
		if !last.Final || last.Err != nil || last.Done != total || last.Total != total || !strings.Contains(last.Name, "epoch 1") {
			t.Errorf("%s: last event %+v, want final with %d of %d", name, last, total, total)
		}
		for i := 1; i < len(evs); i++ {
			if evs[i].Done < evs[i-1].Done {
				t.Errorf("%s: progress went back from %d to %d", name, evs[i-1].Done, evs[i].Done)
			}
		}
	}
	check("upload", up, int64(len(data)))
	check("download", down, m.CiphertextSize)
}
