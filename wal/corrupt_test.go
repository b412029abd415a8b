package wal

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

// buildLog writes n committed operations into one segment and returns the
// file system (closed log), the segment path and the record offsets.
func buildLog(t *testing.T, n int) (*fsx.Mem, string, []byte) {
	t.Helper()
	ctx := context.Background()
	m := newMem(t)
	l, _ := mustOpen(t, m, Options{})
	for i := range n {
		id, err := l.Begin(ctx, "Op", []byte{byte(i)}, false)
		must(t, err)
		must(t, l.Commit(ctx, id, bytes.Repeat([]byte{byte('a' + i)}, 5+i)))
	}
	must(t, l.Close())
	path := filepath.Join(testDir, segmentName(1))
	data, err := m.ReadFile(path)
	must(t, err)
	return m, path, data
}

func rewrite(t *testing.T, m *fsx.Mem, path string, data []byte) {
	t.Helper()
	f, err := m.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0o600)
	must(t, err)
	_, err = f.Write(data)
	must(t, err)
	must(t, f.Close())
}

// recordEnds returns the end offsets of the records in a clean segment.
func recordEnds(t *testing.T, data []byte) []int64 {
	d := decodeRecords(data[segmentHeaderSize:], segmentHeaderSize, chainSeed(data))
	if d.status != statusClean {
		t.Fatalf("fixture not clean: %+v", d)
	}
	var ends []int64
	for _, r := range d.records {
		n := int64(len(r.payload))
		ends = append(ends, r.offset+recordHeaderSize+n+int64(padLen(int(n))))
	}
	return ends
}

func TestTruncatedTailIsRepaired(t *testing.T) {
	m0, path, data := buildLog(t, 4)
	_ = m0
	ends := recordEnds(t, data)
	for cut := int64(segmentHeaderSize); cut <= int64(len(data)); cut++ {
		m, _, _ := buildLog(t, 4)
		rewrite(t, m, path, data[:cut])
		var logBuf bytes.Buffer
		l, rec, err := Open(context.Background(), m, testDir, Options{Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		wantCommits, boundary := 0, cut == segmentHeaderSize
		for _, e := range ends {
			if e <= cut {
				// Each op is a Begin and a Commit record: count commits.
				wantCommits++
			}
			boundary = boundary || e == cut
		}
		if got := len(rec.Replay); got != wantCommits/2 {
			t.Errorf("cut %d: %d replayed, want %d", cut, got, wantCommits/2)
		}
		if (rec.Repaired != nil) == boundary {
			t.Errorf("cut %d: repaired=%v, want %v", cut, rec.Repaired, !boundary)
		}
		if !boundary && !strings.Contains(logBuf.String(), "repaired torn tail") {
			t.Errorf("cut %d: repair not logged: %q", cut, logBuf.String())
		}
		must(t, l.Close())
	}
}

func TestZeroedTailIsRepaired(t *testing.T) {
	_, path, data := buildLog(t, 4)
	ends := recordEnds(t, data)
	for _, from := range []int64{ends[3] + 3, ends[4], ends[5] - 2} {
		m, _, _ := buildLog(t, 4)
		z := append([]byte(nil), data...)
		clear(z[from:])
		rewrite(t, m, path, z)
		_, rec, err := Open(context.Background(), m, testDir, Options{})
		if err != nil {
			t.Fatalf("zero from %d: %v", from, err)
		}
		if rec.Repaired == nil || len(rec.Replay) != 2 {
			t.Errorf("zero from %d: repaired=%v replay=%d, want a repair and 2", from, rec.Repaired, len(rec.Replay))
		}
	}
}

func TestBitFlipInMiddleIsRefused(t *testing.T) {
	_, path, data := buildLog(t, 4)
	ends := recordEnds(t, data)
	lastStart := ends[len(ends)-2]
	for pos := 0; pos < int(lastStart); pos++ {
		for _, bit := range []byte{0x01, 0x80} {
			m, _, _ := buildLog(t, 4)
			flipped := append([]byte(nil), data...)
			flipped[pos] ^= bit
			rewrite(t, m, path, flipped)
			_, _, err := Open(context.Background(), m, testDir, Options{})
			var ce *CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("flip at %d: err=%v, want CorruptError", pos, err)
			}
			wantOff := int64(0)
			for i, e := range ends {
				if int64(pos) >= e {
					wantOff = ends[i]
				} else if pos >= segmentHeaderSize && i == 0 {
					wantOff = segmentHeaderSize
				}
			}
			if ce.File != path || ce.Offset != wantOff {
				t.Fatalf("flip at %d: error names %s@%d, want %s@%d", pos, ce.File, ce.Offset, path, wantOff)
			}
			after, _ := m.ReadFile(path)
			if !bytes.Equal(after, flipped) {
				t.Fatalf("flip at %d: corrupt segment was modified", pos)
			}
		}
	}
}

func TestSegmentStructureErrors(t *testing.T) {
	ctx := context.Background()
	build := func(t *testing.T) *fsx.Mem {
		m := newMem(t)
		l, _ := mustOpen(t, m, Options{})
		for range 3 {
			id, _ := l.Begin(ctx, "Op", nil, false)
			must(t, l.Commit(ctx, id, []byte("payload")))
			must(t, l.Checkpoint(ctx))
		}
		must(t, l.Close())
		return m
	}
	tests := []struct {
		name     string
		mutate   func(t *testing.T, m *fsx.Mem)
		wantFile string
	}{
		{"missing middle segment", func(t *testing.T, m *fsx.Mem) {
			must(t, m.Remove(filepath.Join(testDir, segmentName(2))))
		}, segmentName(2)},
		{"torn closed segment", func(t *testing.T, m *fsx.Mem) {
			p := filepath.Join(testDir, segmentName(1))
			b, _ := m.ReadFile(p)
			rewrite(t, m, p, b[:len(b)-3])
		}, segmentName(1)},
		{"renamed segment", func(t *testing.T, m *fsx.Mem) {
			must(t, m.Rename(filepath.Join(testDir, segmentName(4)), filepath.Join(testDir, segmentName(5))))
			must(t, m.Rename(filepath.Join(testDir, segmentName(3)), filepath.Join(testDir, segmentName(4))))
		}, segmentName(3)},
		{"bad magic", func(t *testing.T, m *fsx.Mem) {
			p := filepath.Join(testDir, segmentName(1))
			b, _ := m.ReadFile(p)
			b[0] = 'X'
			rewrite(t, m, p, b)
		}, segmentName(1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := build(t)
			tc.mutate(t, m)
			_, _, err := Open(ctx, m, testDir, Options{})
			var ce *CorruptError
			if !errors.As(err, &ce) || filepath.Base(ce.File) != tc.wantFile {
				t.Fatalf("err = %v, want CorruptError naming %s", err, tc.wantFile)
			}
		})
	}
}

func rewriteNew(t *testing.T, m *fsx.Mem, path string, data []byte) {
	t.Helper()
	f, err := m.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	must(t, err)
	_, err = f.Write(data)
	must(t, err)
	must(t, f.Close())
}

func TestTornSegmentBeforeEmptyOnesIsRepaired(t *testing.T) {
	ctx := context.Background()
	m, path, data := buildLog(t, 2)
	// A checkpoint created segments 2 and 3 and crashed while writing the
	// last records of segment 1.
	must(t, createSegment(m, testDir, segmentHeader{seq: 2, baseID: 3}))
	must(t, createSegment(m, testDir, segmentHeader{seq: 3, baseID: 3}))
	rewrite(t, m, path, data[:len(data)-4])
	l, rec, err := Open(ctx, m, testDir, Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if rec.Repaired == nil || rec.Repaired.File != path || len(rec.Replay) != 1 {
		t.Fatalf("recovery %+v, want a repair of %s and 1 replay", rec, path)
	}
	id, err := l.Begin(ctx, "Next", nil, false)
	must(t, err)
	must(t, l.Commit(ctx, id, []byte("x")))
	must(t, l.Close())
	_, rec, err = Open(ctx, m, testDir, Options{})
	if err != nil || len(rec.Replay) != 2 || rec.Segments != 1 {
		t.Fatalf("second open: %v %+v, want 2 replays in 1 segment", err, rec)
	}
}
