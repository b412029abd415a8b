package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// recordType is the type byte of a record.
type recordType uint8

const (
	typeBegin   recordType = 1
	typeCommit  recordType = 2
	typeAbort   recordType = 3
	typeApplied recordType = 4
)

const (
	recordHeaderSize = 16
	// MaxPayload is the largest record payload the log writes or accepts.
	MaxPayload = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc32c(seed uint32, parts ...[]byte) uint32 {
	for _, p := range parts {
		seed = crc32.Update(seed, castagnoli, p)
	}
	return seed
}

func padLen(n int) int { return (8 - n%8) % 8 }

// appendRecord appends one framed record to dst and returns the new buffer
// and the record's chained CRC.
func appendRecord(dst []byte, prev uint32, t recordType, payload []byte) ([]byte, uint32) {
	var h [recordHeaderSize]byte
	binary.LittleEndian.PutUint32(h[4:8], uint32(len(payload)))
	h[8] = byte(t)
	binary.LittleEndian.PutUint32(h[12:16], crc32c(0, h[4:12]))
	c := crc32c(prev, h[4:16], payload)
	binary.LittleEndian.PutUint32(h[0:4], c)
	dst = append(dst, h[:]...)
	dst = append(dst, payload...)
	var zero [8]byte
	return append(dst, zero[:padLen(len(payload))]...), c
}

// record is one decoded record.
type record struct {
	typ     recordType
	payload []byte
	offset  int64 // offset of the record header in its segment
}

// decodeStatus is how decoding of a segment ended.
type decodeStatus int

const (
	statusClean decodeStatus = iota
	statusTorn
	statusCorrupt
)

// decodeResult is the outcome of decoding a segment's records.
type decodeResult struct {
	records []record
	status  decodeStatus
	// end is the offset just after the last good record.
	end int64
	// badOffset and reason describe a torn or corrupt record.
	badOffset int64
	reason    string
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// decodeRecords decodes the records in data, which starts at offset base of
// the file, with the chain starting at seed. It never panics on any input.
func decodeRecords(data []byte, base int64, seed uint32) decodeResult {
	var res decodeResult
	prev := seed
	off := 0
	bad := func(status decodeStatus, reason string) decodeResult {
		res.status = status
		res.badOffset = base + int64(off)
		res.reason = reason
		res.end = base + int64(off)
		return res
	}
	for {
		if off == len(data) {
			res.status = statusClean
			res.end = base + int64(off)
			return res
		}
		rest := data[off:]
		if len(rest) < recordHeaderSize {
			return bad(statusTorn, "partial record header")
		}
		h := rest[:recordHeaderSize]
		if binary.LittleEndian.Uint32(h[12:16]) != crc32c(0, h[4:12]) || h[9] != 0 || h[10] != 0 || h[11] != 0 {
			if allZero(rest[recordHeaderSize:]) {
				return bad(statusTorn, "zeroed tail")
			}
			return bad(statusCorrupt, "record header checksum mismatch")
		}
		n := int(binary.LittleEndian.Uint32(h[4:8]))
		t := recordType(h[8])
		if n > MaxPayload {
			return bad(statusCorrupt, fmt.Sprintf("record length %d exceeds limit", n))
		}
		total := recordHeaderSize + n + padLen(n)
		if total > len(rest) {
			return bad(statusTorn, "partial record")
		}
		payload := rest[recordHeaderSize : recordHeaderSize+n]
		c := crc32c(prev, h[4:16], payload)
		reason := ""
		switch {
		case c != binary.LittleEndian.Uint32(h[0:4]):
			reason = "record checksum mismatch"
		case !allZero(rest[recordHeaderSize+n : total]):
			reason = "non-zero padding"
		case t < typeBegin || t > typeApplied:
			reason = fmt.Sprintf("unknown record type %d", t)
		}
		if reason != "" {
			if allZero(rest[total:]) {
				return bad(statusTorn, reason+" in last record")
			}
			return bad(statusCorrupt, reason)
		}
		res.records = append(res.records, record{typ: t, payload: payload, offset: base + int64(off)})
		prev = c
		off += total
	}
}

var errShortPayload = errors.New("short record payload")

func encodeBegin(id uint64, kind string, input []byte) []byte {
	b := make([]byte, 0, 10+len(kind)+len(input))
	b = binary.LittleEndian.AppendUint64(b, id)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(kind)))
	b = append(b, kind...)
	return append(b, input...)
}

func decodeBegin(p []byte) (id uint64, kind string, input []byte, err error) {
	if len(p) < 10 {
		return 0, "", nil, errShortPayload
	}
	id = binary.LittleEndian.Uint64(p)
	k := int(binary.LittleEndian.Uint16(p[8:]))
	if len(p) < 10+k {
		return 0, "", nil, errShortPayload
	}
	return id, string(p[10 : 10+k]), p[10+k:], nil
}

func encodeIDPayload(id uint64, payload []byte) []byte {
	b := make([]byte, 0, 8+len(payload))
	b = binary.LittleEndian.AppendUint64(b, id)
	return append(b, payload...)
}

func decodeIDPayload(p []byte) (uint64, []byte, error) {
	if len(p) < 8 {
		return 0, nil, errShortPayload
	}
	return binary.LittleEndian.Uint64(p), p[8:], nil
}

func encodeApplied(ids []uint64) []byte {
	b := make([]byte, 0, 4+8*len(ids))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ids)))
	for _, id := range ids {
		b = binary.LittleEndian.AppendUint64(b, id)
	}
	return b
}

func decodeApplied(p []byte) ([]uint64, error) {
	if len(p) < 4 {
		return nil, errShortPayload
	}
	n := int(binary.LittleEndian.Uint32(p))
	if len(p) != 4+8*n {
		return nil, fmt.Errorf("applied record: %d ids in %d bytes", n, len(p))
	}
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = binary.LittleEndian.Uint64(p[4+8*i:])
	}
	return ids, nil
}
