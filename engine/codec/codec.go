// Package codec implements the TLS presentation language encoding used by
// MLS (RFC 9420 §2.1): fixed-width big-endian integers, opaque byte strings
// and vectors with the variable-length integer header of §2.1.2.
//
// [Writer] appends to a byte slice and never fails. [Reader] consumes a byte
// slice; every read method records the first error and becomes a no-op after
// it, so a decoder reads a whole struct and checks [Reader.Err] once.
// Decoders reject non-minimal length headers, lengths that exceed the input
// and (with [Reader.Finish]) trailing bytes.
package codec

import (
	"errors"
	"fmt"
)

// Sentinel errors returned by [Reader]. They are wrapped with the position.
var (
	// ErrShort means the input ended before the value was complete.
	ErrShort = errors.New("codec: input too short")
	// ErrNonMinimal means a variable-length header was not minimally encoded.
	ErrNonMinimal = errors.New("codec: non-minimal length encoding")
	// ErrInvalidHeader means a variable-length header used the reserved 0b11 prefix.
	ErrInvalidHeader = errors.New("codec: invalid length header")
	// ErrTrailing means bytes remained after a complete value.
	ErrTrailing = errors.New("codec: trailing bytes")
	// ErrTooLong means a length exceeds what the encoding or the caller allows.
	ErrTooLong = errors.New("codec: length too large")
	// ErrInvalid means a decoded value is outside its allowed set (a bad enum
	// value, a bad optional flag). Decoders of structs wrap it.
	ErrInvalid = errors.New("codec: invalid value")
)

// MaxVarint is the largest length a variable-length header can carry (2^30-1).
const MaxVarint = 1<<30 - 1

// Writer appends TLS-encoded values to a buffer. The zero value is ready to use.
type Writer struct {
	buf []byte
}

// NewWriter returns a Writer that appends to buf (which may be nil).
func NewWriter(buf []byte) *Writer { return &Writer{buf: buf} }

// Bytes returns the encoded bytes.
func (w *Writer) Bytes() []byte { return w.buf }

// Len returns the number of bytes written so far.
func (w *Writer) Len() int { return len(w.buf) }

// Uint8 appends v.
func (w *Writer) Uint8(v uint8) { w.buf = append(w.buf, v) }

// Bool appends v as one byte, 0 or 1.
func (w *Writer) Bool(v bool) {
	if v {
		w.Uint8(1)
	} else {
		w.Uint8(0)
	}
}

// Uint16 appends v big-endian.
func (w *Writer) Uint16(v uint16) { w.buf = append(w.buf, byte(v>>8), byte(v)) }

// Uint32 appends v big-endian.
func (w *Writer) Uint32(v uint32) {
	w.buf = append(w.buf, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// Uint64 appends v big-endian.
func (w *Writer) Uint64(v uint64) {
	w.Uint32(uint32(v >> 32))
	w.Uint32(uint32(v))
}

// Raw appends b without a length prefix.
func (w *Writer) Raw(b []byte) { w.buf = append(w.buf, b...) }

// Nested appends the encoding of m, written through a Writer of its own
// that takes over w's buffer. An encoder that hands its Writer to a
// closure (as [Writer.Vector] does) makes that Writer escape to the heap;
// calling it through Nested keeps the escape off w, so w stays on its
// caller's stack when its other fields encode without closures.
func (w *Writer) Nested(m Marshaler) {
	n := Writer{buf: w.buf}
	m.MarshalTLS(&n)
	w.buf = n.buf
}

// Zeros appends n zero bytes (nothing if n ≤ 0).
func (w *Writer) Zeros(n int) {
	if n > 0 {
		w.buf = append(w.buf, make([]byte, n)...)
	}
}

// VarintLen returns the length of the minimal variable-length header of n
// (1, 2 or 4 bytes); n must not exceed [MaxVarint].
func VarintLen(n int) int {
	switch {
	case n < 1<<6:
		return 1
	case n < 1<<14:
		return 2
	default:
		return 4
	}
}

// OpaqueLen returns the encoded length of b as opaque<V>: its header and
// its bytes.
func OpaqueLen(b []byte) int { return VarintLen(len(b)) + len(b) }

// Varint appends n as a minimal variable-length integer (RFC 9420 §2.1.2).
// It panics if n > [MaxVarint]: no MLS value may be that long.
func (w *Writer) Varint(n int) {
	switch {
	case n < 0 || n > MaxVarint:
		panic(fmt.Sprintf("codec: varint %d out of range", n))
	case n < 1<<6:
		w.Uint8(uint8(n))
	case n < 1<<14:
		w.Uint16(uint16(n) | 0x4000)
	default:
		w.Uint32(uint32(n) | 0x80000000)
	}
}

// Opaque appends b as opaque<V>: a varint length followed by the bytes.
func (w *Writer) Opaque(b []byte) {
	w.Varint(len(b))
	w.Raw(b)
}

// Vector appends a vector<V> whose body is written by body. The length
// header is computed after body runs. body writes to w itself (after a
// one-byte header slot), so nested vectors encode in place: a body of 64
// bytes or more is shifted once to widen the header, and nothing is copied
// into an intermediate buffer.
func (w *Writer) Vector(body func(w *Writer)) {
	start := len(w.buf)
	w.buf = append(w.buf, 0)
	body(w)
	n := len(w.buf) - start - 1
	switch {
	case n < 1<<6:
		w.buf[start] = byte(n)
	case n < 1<<14:
		w.widen(start, n, 1)
		w.buf[start] = byte(n>>8) | 0x40
		w.buf[start+1] = byte(n)
	case n <= MaxVarint:
		w.widen(start, n, 3)
		w.buf[start] = byte(n>>24) | 0x80
		w.buf[start+1] = byte(n >> 16)
		w.buf[start+2] = byte(n >> 8)
		w.buf[start+3] = byte(n)
	default:
		panic(fmt.Sprintf("codec: varint %d out of range", n))
	}
}

// widen moves the n-byte body that follows the one-byte header slot at
// start by extra bytes, making room for a longer header.
func (w *Writer) widen(start, n, extra int) {
	var pad [3]byte
	w.buf = append(w.buf, pad[:extra]...)
	copy(w.buf[start+1+extra:], w.buf[start+1:start+1+n])
}

// Optional appends optional<T>: 0, or 1 followed by the value written by body.
func (w *Writer) Optional(present bool, body func(w *Writer)) {
	w.Bool(present)
	if present {
		body(w)
	}
}

// Reader decodes TLS-encoded values from a byte slice. After the first error
// every method returns zero values; check [Reader.Err] or [Reader.Finish].
type Reader struct {
	buf []byte
	off int
	err error
}

// NewReader returns a Reader over b. It does not copy b; slices returned by
// [Reader.Opaque] and [Reader.Raw] alias b.
func NewReader(b []byte) *Reader { return &Reader{buf: b} }

// Reset makes r read b from its start, forgetting any earlier error. It
// lets a caller keep a Reader inside a larger struct it allocates anyway.
func (r *Reader) Reset(b []byte) { *r = Reader{buf: b} }

// Err returns the first error encountered, if any.
func (r *Reader) Err() error { return r.err }

// Fail records err (wrapped with the current offset) unless an error is
// already recorded. Struct decoders use it to report invalid values.
func (r *Reader) Fail(err error) {
	if r.err == nil {
		r.err = fmt.Errorf("at offset %d: %w", r.off, err)
	}
}

// Offset returns the number of bytes read so far.
func (r *Reader) Offset() int { return r.off }

// Since returns the input bytes read from offset from (an earlier
// [Reader.Offset]) up to now. It aliases the input and is nil after an
// error or for an offset outside that range.
func (r *Reader) Since(from int) []byte {
	if r.err != nil || from < 0 || from > r.off {
		return nil
	}
	return r.buf[from:r.off:r.off]
}

// Remaining returns the number of unread bytes.
func (r *Reader) Remaining() int { return len(r.buf) - r.off }

// Empty reports whether all input has been consumed (or an error occurred).
func (r *Reader) Empty() bool { return r.err != nil || r.off >= len(r.buf) }

// Finish returns the first error, or [ErrTrailing] if input remains.
func (r *Reader) Finish() error {
	if r.err != nil {
		return r.err
	}
	if r.off != len(r.buf) {
		return fmt.Errorf("at offset %d: %w (%d bytes)", r.off, ErrTrailing, len(r.buf)-r.off)
	}
	return nil
}

func (r *Reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.buf)-r.off {
		r.Fail(ErrShort)
		return nil
	}
	b := r.buf[r.off : r.off+n : r.off+n]
	r.off += n
	return b
}

// Raw reads exactly n bytes.
func (r *Reader) Raw(n int) []byte { return r.take(n) }

// Uint8 reads one byte.
func (r *Reader) Uint8() uint8 {
	b := r.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

// Bool reads one byte that must be 0 or 1.
func (r *Reader) Bool() bool {
	v := r.Uint8()
	if v > 1 {
		r.Fail(fmt.Errorf("%w: boolean %d", ErrInvalid, v))
		return false
	}
	return v == 1
}

// Uint16 reads a big-endian uint16.
func (r *Reader) Uint16() uint16 {
	b := r.take(2)
	if b == nil {
		return 0
	}
	return uint16(b[0])<<8 | uint16(b[1])
}

// Uint32 reads a big-endian uint32.
func (r *Reader) Uint32() uint32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// Uint64 reads a big-endian uint64.
func (r *Reader) Uint64() uint64 {
	hi := r.Uint32()
	lo := r.Uint32()
	return uint64(hi)<<32 | uint64(lo)
}

// Varint reads a variable-length integer and rejects non-minimal encodings
// and the reserved 0b11 prefix.
func (r *Reader) Varint() int {
	first := r.Uint8()
	if r.err != nil {
		return 0
	}
	prefix := first >> 6
	switch prefix {
	case 0:
		return int(first)
	case 1:
		v := int(first&0x3f)<<8 | int(r.Uint8())
		if r.err == nil && v < 1<<6 {
			r.Fail(ErrNonMinimal)
			return 0
		}
		return v
	case 2:
		rest := r.Raw(3)
		if rest == nil {
			return 0
		}
		v := int(first&0x3f)<<24 | int(rest[0])<<16 | int(rest[1])<<8 | int(rest[2])
		if v < 1<<14 {
			r.Fail(ErrNonMinimal)
			return 0
		}
		return v
	default:
		r.Fail(ErrInvalidHeader)
		return 0
	}
}

// Opaque reads opaque<V>. The returned slice aliases the input.
func (r *Reader) Opaque() []byte {
	n := r.Varint()
	if r.err != nil {
		return nil
	}
	if n > r.Remaining() {
		r.Fail(fmt.Errorf("%w: vector of %d bytes, %d left", ErrShort, n, r.Remaining()))
		return nil
	}
	b := r.take(n)
	if b == nil {
		return nil
	}
	if len(b) == 0 {
		return []byte{}
	}
	return b
}

// OpaqueMax reads opaque<V> and fails with [ErrTooLong] if it is longer than max.
func (r *Reader) OpaqueMax(max int) []byte {
	b := r.Opaque()
	if len(b) > max {
		r.Fail(fmt.Errorf("%w: %d > %d", ErrTooLong, len(b), max))
		return nil
	}
	return b
}

// Vector reads vector<V> and calls elem until the vector's bytes are consumed.
// elem reads one element from the sub-reader it is given; a decoding error in
// an element stops the loop and is recorded on r.
func (r *Reader) Vector(elem func(r *Reader)) {
	body := r.Opaque()
	if r.err != nil {
		return
	}
	sub := Reader{buf: body}
	for sub.off < len(sub.buf) && sub.err == nil {
		before := sub.off
		elem(&sub)
		if sub.err == nil && sub.off == before {
			sub.Fail(fmt.Errorf("%w: element consumed no bytes", ErrInvalid))
		}
	}
	if sub.err != nil {
		r.Fail(sub.err)
	}
}

// Optional reads optional<T>: a presence byte and, if present, the value via body.
func (r *Reader) Optional(body func(r *Reader)) bool {
	present := r.Bool()
	if present && r.err == nil {
		body(r)
	}
	return present && r.err == nil
}

// Marshaler is implemented by every MLS struct that can encode itself.
type Marshaler interface {
	MarshalTLS(w *Writer)
}

// Unmarshaler is implemented by every MLS struct that can decode itself.
type Unmarshaler interface {
	UnmarshalTLS(r *Reader)
}

// marshalCap is the initial capacity of [Marshal]'s buffer: most MLS
// structures fit, so they encode without the buffer growing in steps.
const marshalCap = 256

// Marshal returns the encoding of m.
func Marshal(m Marshaler) []byte {
	return Append(make([]byte, 0, marshalCap), m)
}

// MarshalSize returns the encoding of m in a buffer of capacity size (not
// negative): a caller that knows (or bounds) the encoded length gets it in
// one allocation. A longer encoding still works; the buffer then grows.
func MarshalSize(m Marshaler, size int) []byte {
	return Append(make([]byte, 0, size), m)
}

// Append appends the encoding of m to dst and returns the extended slice.
func Append(dst []byte, m Marshaler) []byte {
	w := Writer{buf: dst}
	m.MarshalTLS(&w)
	return w.buf
}

// Unmarshal decodes b into u and rejects trailing bytes.
func Unmarshal(b []byte, u Unmarshaler) error {
	r := NewReader(b)
	u.UnmarshalTLS(r)
	return r.Finish()
}
