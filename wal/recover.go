package wal

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

// Entry is an operation found by recovery.
type Entry struct {
	// ID is the operation id.
	ID uint64
	// Kind is the kind given to [Log.Begin]; empty if the Begin record was
	// in a segment already deleted.
	Kind string
	// Input is the input given to [Log.Begin].
	Input []byte
	// Payload is the committed payload (nil for incomplete operations).
	Payload []byte
}

// TailRepair describes a torn tail that [Open] truncated.
type TailRepair struct {
	// File is the segment that was truncated.
	File string
	// Offset is its new length.
	Offset int64
	// Dropped is the number of bytes removed.
	Dropped int64
	// Reason says what the decoder found.
	Reason string
}

// Recovery is what [Open] found in the log.
type Recovery struct {
	// Replay holds committed operations in commit order, starting at the
	// first one not known to be applied. The caller applies each payload
	// (idempotently) and then calls [Log.MarkApplied] with their ids.
	Replay []Entry
	// Incomplete holds operations that were begun but neither committed nor
	// aborted, by id. Their input may be processed again; each must be
	// finished with [Log.Abort] so that its segment can be deleted.
	Incomplete []Entry
	// Repaired is non-nil if a torn tail was truncated.
	Repaired *TailRepair
	// Segments is the number of segment files found.
	Segments int
}

// opRec is an operation as seen while scanning.
type opRec struct {
	Entry
	beginSeg  uint64
	committed bool
	applied   bool
	aborted   bool
}

// scanResult is the state rebuilt from the segments.
type scanResult struct {
	rec       Recovery
	seqs      []uint64
	activeEnd int64
	chain     uint32
	nextID    uint64
	unfinish  map[uint64]*opState
}

func corrupt(path string, off int64, reason string) error {
	return &CorruptError{File: path, Offset: off, Reason: reason}
}

// scan reads every segment of dir, validates it, rebuilds the operation
// table and, with repair, removes temporary files and repairs a torn tail
// (without repair the torn tail is only left out, as repair would cut it).
func scan(ctx context.Context, fsys fsx.FS, dir string, logger *slog.Logger, repair bool) (*scanResult, error) {
	seqs, err := listSegments(fsys, dir, repair)
	if err != nil {
		return nil, err
	}
	res := &scanResult{seqs: seqs, nextID: 1, unfinish: map[uint64]*opState{}}
	res.rec.Segments = len(seqs)
	if len(seqs) == 0 {
		return res, nil
	}
	// Pass 1: read and decode every segment.
	type segScan struct {
		path string
		data []byte
		d    decodeResult
	}
	scans := make([]segScan, len(seqs))
	for i, seq := range seqs {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("recover: %w", err)
		}
		path := filepath.Join(dir, segmentName(seq))
		if i > 0 && seq != seqs[i-1]+1 {
			return nil, corrupt(filepath.Join(dir, segmentName(seqs[i-1]+1)), 0, "missing segment")
		}
		data, err := fsys.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read segment: %w", err)
		}
		h, reason := decodeSegmentHeader(data)
		if reason == "" && h.seq != seq {
			reason = fmt.Sprintf("header names segment %d", h.seq)
		}
		if reason != "" {
			return nil, corrupt(path, 0, reason)
		}
		res.nextID = max(res.nextID, h.baseID)
		d := decodeRecords(data[segmentHeaderSize:], segmentHeaderSize, chainSeed(data))
		if d.status == statusCorrupt {
			return nil, corrupt(path, d.badOffset, d.reason)
		}
		scans[i] = segScan{path: path, data: data, d: d}
	}
	// A checkpoint creates the next segment before the last write to the
	// current one: a torn segment followed only by empty segments is the
	// torn tail of the log, and the empty ones are dropped.
	last := len(scans) - 1
	for i, sc := range scans[:last] {
		if sc.d.status != statusTorn {
			continue
		}
		for _, later := range scans[i+1:] {
			if later.d.status != statusClean || len(later.d.records) > 0 {
				return nil, corrupt(sc.path, sc.d.badOffset, sc.d.reason+" (torn tail in a closed segment)")
			}
		}
		for j := len(scans) - 1; j > i && repair; j-- {
			if err := fsys.Remove(scans[j].path); err != nil {
				return nil, fmt.Errorf("recover: drop empty segment: %w", err)
			}
			logger.Warn("wal: dropped empty segment after a torn one", "file", scans[j].path)
		}
		if repair {
			if err := fsys.SyncDir(dir); err != nil {
				return nil, fmt.Errorf("recover: %w", err)
			}
		}
		last = i
		scans = scans[:i+1]
		res.seqs = res.seqs[:i+1]
		break
	}
	// Pass 2: rebuild the operation table.
	ops := map[uint64]*opRec{}
	var commits []*opRec
	var torn *TailRepair
	for i, sc := range scans {
		d, data, path := sc.d, sc.data, sc.path
		if i == last {
			if d.status == statusTorn {
				torn = &TailRepair{File: path, Offset: d.end, Dropped: int64(len(data)) - d.end, Reason: d.reason}
			}
			res.activeEnd = d.end
			res.chain = chainSeed(data)
			if n := len(d.records); n > 0 {
				r := d.records[n-1]
				res.chain = binary.LittleEndian.Uint32(data[r.offset:])
			}
		}
		for _, r := range d.records {
			if err := applyRecord(ops, &commits, seqs[i], r); err != nil {
				return nil, corrupt(path, r.offset, err.Error())
			}
		}
	}
	if torn != nil && repair {
		if err := truncateTail(fsys, torn); err != nil {
			return nil, err
		}
		logger.Warn("wal: repaired torn tail", "file", torn.File, "offset", torn.Offset, "dropped_bytes", torn.Dropped, "reason", torn.Reason)
		res.rec.Repaired = torn
	}
	for id := range ops {
		res.nextID = max(res.nextID, id+1)
	}
	first := len(commits)
	for i, op := range commits {
		if !op.applied {
			first = i
			break
		}
	}
	for _, op := range commits[first:] {
		res.rec.Replay = append(res.rec.Replay, op.Entry)
		res.unfinish[op.ID] = &opState{kind: op.Kind, beginSeg: op.beginSeg, committed: true, inputLen: len(op.Input), payloadLen: len(op.Payload)}
	}
	for _, op := range ops {
		if !op.committed && !op.aborted {
			res.rec.Incomplete = append(res.rec.Incomplete, op.Entry)
			res.unfinish[op.ID] = &opState{kind: op.Kind, beginSeg: op.beginSeg, inputLen: len(op.Input)}
		}
	}
	sort.Slice(res.rec.Incomplete, func(i, j int) bool { return res.rec.Incomplete[i].ID < res.rec.Incomplete[j].ID })
	return res, nil
}

// applyRecord folds one record into the operation table.
func applyRecord(ops map[uint64]*opRec, commits *[]*opRec, seq uint64, r record) error {
	switch r.typ {
	case typeBegin:
		id, kind, input, err := decodeBegin(r.payload)
		if err != nil {
			return fmt.Errorf("begin record: %w", err)
		}
		if _, dup := ops[id]; dup {
			return fmt.Errorf("duplicate begin of operation %d", id)
		}
		ops[id] = &opRec{Entry: Entry{ID: id, Kind: kind, Input: input}, beginSeg: seq}
	case typeCommit:
		id, payload, err := decodeIDPayload(r.payload)
		if err != nil {
			return fmt.Errorf("commit record: %w", err)
		}
		op, ok := ops[id]
		if !ok {
			op = &opRec{Entry: Entry{ID: id}, beginSeg: seq}
			ops[id] = op
		}
		if op.committed || op.aborted {
			return fmt.Errorf("commit of finished operation %d", id)
		}
		op.committed = true
		op.Payload = payload
		*commits = append(*commits, op)
	case typeAbort:
		id, _, err := decodeIDPayload(r.payload)
		if err != nil {
			return fmt.Errorf("abort record: %w", err)
		}
		if op, ok := ops[id]; ok {
			op.aborted = true
		}
	case typeApplied:
		ids, err := decodeApplied(r.payload)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if op, ok := ops[id]; ok {
				op.applied = true
			}
		}
	}
	return nil
}

func truncateTail(fsys fsx.FS, r *TailRepair) error {
	f, err := fsys.OpenFile(r.File, os.O_WRONLY, filePerm)
	if err != nil {
		return fmt.Errorf("repair torn tail: %w", err)
	}
	err = f.Truncate(r.Offset)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("repair torn tail of %s: %w", r.File, err)
	}
	return nil
}
