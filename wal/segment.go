package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/mlsbackup/mlsbackup/internal/atomicfile"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

const (
	segmentHeaderSize = 32
	segmentSuffix     = ".wal"
	formatVersion     = 1
	filePerm          = 0o600
)

var segmentMagic = [8]byte{'M', 'L', 'S', 'B', 'W', 'A', 'L', 0}

// ErrCorrupt is wrapped by every [*CorruptError].
var ErrCorrupt = errors.New("wal: corrupt log")

// CorruptError reports corruption that recovery refuses to repair.
type CorruptError struct {
	// File is the path of the segment.
	File string
	// Offset is the byte offset of the bad header or record.
	Offset int64
	// Reason says what check failed.
	Reason string
}

// Error implements error.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("wal: corrupt segment %s at offset %d: %s", e.File, e.Offset, e.Reason)
}

// Unwrap makes errors.Is(err, [ErrCorrupt]) true.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

func segmentName(seq uint64) string { return fmt.Sprintf("%016x%s", seq, segmentSuffix) }

func parseSegmentName(name string) (uint64, bool) {
	hex, ok := strings.CutSuffix(name, segmentSuffix)
	if !ok || len(hex) != 16 {
		return 0, false
	}
	seq, err := strconv.ParseUint(hex, 16, 64)
	return seq, err == nil
}

// segmentHeader is the decoded header of a segment.
type segmentHeader struct {
	seq    uint64
	baseID uint64
}

func (h segmentHeader) encode() []byte {
	b := make([]byte, segmentHeaderSize)
	copy(b, segmentMagic[:])
	binary.LittleEndian.PutUint32(b[8:], formatVersion)
	binary.LittleEndian.PutUint64(b[16:], h.seq)
	binary.LittleEndian.PutUint64(b[24:], h.baseID)
	binary.LittleEndian.PutUint32(b[12:], crc32c(0, b[0:12], b[16:32]))
	return b
}

// chainSeed is the CRC the first record's chain starts from.
func chainSeed(header []byte) uint32 { return binary.LittleEndian.Uint32(header[12:16]) }

func decodeSegmentHeader(b []byte) (segmentHeader, string) {
	if len(b) < segmentHeaderSize {
		return segmentHeader{}, "short segment header"
	}
	if [8]byte(b[0:8]) != segmentMagic {
		return segmentHeader{}, "bad segment magic"
	}
	if binary.LittleEndian.Uint32(b[12:]) != crc32c(0, b[0:12], b[16:32]) {
		return segmentHeader{}, "segment header checksum mismatch"
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != formatVersion {
		return segmentHeader{}, fmt.Sprintf("unsupported segment format version %d", v)
	}
	return segmentHeader{seq: binary.LittleEndian.Uint64(b[16:]), baseID: binary.LittleEndian.Uint64(b[24:])}, ""
}

// listSegments returns the sequence numbers of the segments in dir, sorted,
// and with clean removes leftover temporary files.
func listSegments(fsys fsx.FS, dir string, clean bool) ([]uint64, error) {
	if clean {
		if err := atomicfile.CleanTemps(fsys, dir); err != nil {
			return nil, err
		}
	}
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	var seqs []uint64
	for _, e := range entries {
		if seq, ok := parseSegmentName(e.Name()); ok && !e.IsDir() {
			seqs = append(seqs, seq)
		}
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	return seqs, nil
}

// createSegment durably creates segment seq holding only its header.
func createSegment(fsys fsx.FS, dir string, h segmentHeader) error {
	path := filepath.Join(dir, segmentName(h.seq))
	if err := atomicfile.Write(fsys, path, h.encode(), filePerm); err != nil {
		return fmt.Errorf("create segment: %w", err)
	}
	return nil
}
