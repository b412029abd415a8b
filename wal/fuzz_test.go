package wal

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
)

func FuzzDecodeRecords(f *testing.F) {
	var seed []byte
	var c uint32 = 7
	seed, c = appendRecord(seed, c, typeBegin, encodeBegin(1, "Add", []byte("in")))
	seed, _ = appendRecord(seed, c, typeCommit, encodeIDPayload(1, []byte("payload")))
	f.Add(seed, uint32(7))
	f.Add(seed[:20], uint32(7))
	f.Add([]byte{}, uint32(0))
	f.Add(make([]byte, 40), uint32(0))
	f.Fuzz(func(t *testing.T, data []byte, seed uint32) {
		d := decodeRecords(data, 0, seed)
		if d.end < 0 || d.end > int64(len(data)) {
			t.Fatalf("end %d outside [0,%d]", d.end, len(data))
		}
		// Re-encoding the good records must reproduce the good prefix.
		var re []byte
		c := seed
		for _, r := range d.records {
			re, c = appendRecord(re, c, r.typ, r.payload)
		}
		if !bytes.Equal(re, data[:d.end]) {
			t.Fatalf("re-encoded prefix differs")
		}
		if d.status == statusClean && d.end != int64(len(data)) {
			t.Fatalf("clean end at %d of %d", d.end, len(data))
		}
	})
}

func FuzzOpen(f *testing.F) {
	h := segmentHeader{seq: 1, baseID: 1}.encode()
	rec, _ := appendRecord(nil, chainSeed(h), typeBegin, encodeBegin(1, "Add", nil))
	f.Add(append(h, rec...))
	f.Add(h)
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := newMem(t)
		must(t, m.MkdirAll(testDir, 0o700))
		rewriteNew(t, m, filepath.Join(testDir, segmentName(1)), data)
		l, rec, err := Open(context.Background(), m, testDir, Options{})
		if err != nil {
			return
		}
		if rec == nil {
			t.Fatal("nil recovery without error")
		}
		// A successfully opened log accepts new operations.
		id, err := l.Begin(context.Background(), "Next", nil, false)
		if err == nil {
			err = l.Commit(context.Background(), id, []byte("x"))
		}
		if err != nil {
			t.Fatalf("log unusable after open: %v", err)
		}
		must(t, l.Close())
	})
}
