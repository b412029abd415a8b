package localstore

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine"
)

const batchVersion = 1

var errBatchTruncated = errors.New("truncated batch")

// encodeBatch serialises a batch as the WAL payload (see the package doc).
func encodeBatch(b *engine.Batch) []byte {
	size := 16 + len(b.Op) + len(b.Group)
	for _, p := range b.Puts {
		size += 16 + len(p.Key.Group) + len(p.Key.Kind) + len(p.Key.Name) + len(p.Value)
	}
	for _, d := range b.Deletes {
		size += 8 + len(d.Group) + len(d.Kind) + len(d.Name)
	}
	out := make([]byte, 0, size)
	out = append(out, batchVersion)
	out = appendBytes16(out, []byte(b.Op))
	out = appendBytes16(out, b.Group)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(b.Puts)))
	for _, p := range b.Puts {
		out = appendKey(out, p.Key)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(p.Value)))
		out = append(out, p.Value...)
	}
	out = binary.LittleEndian.AppendUint32(out, uint32(len(b.Deletes)))
	for _, d := range b.Deletes {
		out = appendKey(out, d)
	}
	return out
}

func appendBytes16(out, b []byte) []byte {
	out = binary.LittleEndian.AppendUint16(out, uint16(len(b)))
	return append(out, b...)
}

func appendKey(out []byte, k engine.Key) []byte {
	out = appendBytes16(out, k.Group)
	out = appendBytes16(out, []byte(k.Kind))
	return appendBytes16(out, []byte(k.Name))
}

// batchReader decodes the WAL payload format.
type batchReader struct {
	b   []byte
	err error
}

func (r *batchReader) take(n int) []byte {
	if r.err != nil || n > len(r.b) {
		r.err = errBatchTruncated
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *batchReader) u16() int {
	v := r.take(2)
	if v == nil {
		return 0
	}
	return int(binary.LittleEndian.Uint16(v))
}

func (r *batchReader) u32() int {
	v := r.take(4)
	if v == nil {
		return 0
	}
	return int(binary.LittleEndian.Uint32(v))
}

func (r *batchReader) bytes16() []byte { return r.take(r.u16()) }

func (r *batchReader) key() engine.Key {
	g := r.bytes16()
	kind := r.bytes16()
	name := r.bytes16()
	return engine.Key{Group: g, Kind: engine.Kind(kind), Name: string(name)}
}

// decodeBatch parses a WAL payload written by [encodeBatch].
func decodeBatch(p []byte) (*engine.Batch, error) {
	r := &batchReader{b: p}
	if v := r.take(1); v == nil || v[0] != batchVersion {
		return nil, fmt.Errorf("decode batch: unsupported version")
	}
	b := &engine.Batch{Op: string(r.bytes16()), Group: r.bytes16()}
	n := r.u32()
	if n > len(r.b) {
		return nil, fmt.Errorf("decode batch: %w", errBatchTruncated)
	}
	for i := 0; i < n && r.err == nil; i++ {
		k := r.key()
		v := r.take(r.u32())
		b.Puts = append(b.Puts, engine.Put{Key: k, Value: v})
	}
	n = r.u32()
	if n > len(r.b) {
		return nil, fmt.Errorf("decode batch: %w", errBatchTruncated)
	}
	for i := 0; i < n && r.err == nil; i++ {
		b.Deletes = append(b.Deletes, r.key())
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return nil, fmt.Errorf("decode batch: %w", r.err)
	}
	return b, nil
}
