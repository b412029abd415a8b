package uploader

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"

	"filippo.io/age"
)

// age payload framing (age-encryption.org/v1): a 16-byte nonce after the
// header, then the plaintext in 64 KiB chunks, each sealed with a 16-byte
// ChaCha20-Poly1305 tag; an empty plaintext is one empty final chunk.
const (
	ageChunkSize = 64 << 10
	ageTagSize   = 16
)

// agePayloadSize returns the size of the age payload (after the header and
// nonce) for a plaintext of n bytes.
func agePayloadSize(n int64) int64 {
	chunks := (n + ageChunkSize - 1) / ageChunkSize
	if chunks == 0 {
		chunks = 1
	}
	return n + chunks*ageTagSize
}

// encryptor is an io.Reader producing the age encryption of src. It pulls
// plaintext in chunk-sized reads, so at most about two chunks are held in
// memory besides the caller's buffer, and it hashes and counts both
// plaintext and ciphertext as they pass. It needs no goroutine: the
// store's Put drives it.
//
// Each byte is touched while it is in cache: a plaintext chunk is hashed
// right after it is read, and age's sealed chunk is hashed as it is
// written, straight into the caller's buffer when it fits there (only
// the rest waits in out for the next Read).
type encryptor struct {
	src     io.Reader
	w       io.WriteCloser // age payload writer, writing into sink
	sink    sink
	scratch []byte
	want    int64 // expected plaintext size, 0 if unknown
	header  int64 // header and nonce size
	done    bool  // src reached EOF and w is closed
	err     error

	ptHash hash.Hash
	ptN    int64
	ctN    int64 // ciphertext bytes returned by Read
	// onPlain reports the plaintext bytes read so far.
	onPlain func(done int64)
}

// sink receives age's output: into dst while it has room, the rest into
// out; it hashes everything in passing.
type sink struct {
	dst    []byte // the caller's buffer, len = bytes written into it
	out    bytes.Buffer
	ctHash hash.Hash
}

func (s *sink) Write(p []byte) (int, error) {
	s.ctHash.Write(p)
	n := copy(s.dst[len(s.dst):cap(s.dst)], p)
	s.dst = s.dst[:len(s.dst)+n]
	s.out.Write(p[n:])
	return len(p), nil
}

func newEncryptor(src io.Reader, want int64, recipients []age.Recipient, onPlain func(int64)) (*encryptor, error) {
	bufSize := int64(ageChunkSize)
	if want > 0 && want < bufSize {
		bufSize = want + 1 // one spare byte lets the final read see EOF
	}
	e := &encryptor{
		src:     src,
		scratch: make([]byte, bufSize),
		want:    want,
		ptHash:  sha256.New(),
		onPlain: onPlain,
	}
	e.sink.ctHash = sha256.New()
	w, err := age.Encrypt(&e.sink, recipients...)
	if err != nil {
		return nil, fmt.Errorf("age encrypt: %w", err)
	}
	e.w = w
	e.header = int64(e.sink.out.Len())
	return e, nil
}

// size is the exact ciphertext size if the plaintext size is known, else -1.
func (e *encryptor) size() int64 {
	if e.want <= 0 {
		return -1
	}
	return e.header + agePayloadSize(e.want)
}

// Read implements io.Reader. It fills p as far as it can: a store reads
// into large part buffers, and age writes into them directly.
func (e *encryptor) Read(p []byte) (int, error) {
	n, _ := e.sink.out.Read(p)
	for n < len(p) && e.sink.out.Len() == 0 && !e.done && e.err == nil {
		e.sink.dst = p[n:n:len(p)] // never past len(p)
		e.fill()
		n += len(e.sink.dst)
		e.sink.dst = nil
		m, _ := e.sink.out.Read(p[n:])
		n += m
	}
	e.ctN += int64(n)
	if n > 0 {
		return n, nil
	}
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}

// fill reads one chunk of plaintext and encrypts it into the sink.
func (e *encryptor) fill() {
	n, err := e.src.Read(e.scratch)
	if n > 0 {
		e.ptHash.Write(e.scratch[:n])
		e.ptN += int64(n)
		if e.want > 0 && e.ptN > e.want {
			e.err = fmt.Errorf("%w: snapshot is longer than its declared size %d", ErrBadMeta, e.want)
			return
		}
		if _, werr := e.w.Write(e.scratch[:n]); werr != nil {
			e.err = fmt.Errorf("age encrypt: %w", werr)
			return
		}
		if e.onPlain != nil {
			e.onPlain(e.ptN)
		}
	}
	switch {
	case err == io.EOF:
		if e.want > 0 && e.ptN != e.want {
			e.err = fmt.Errorf("%w: snapshot has %d bytes, declared %d", ErrBadMeta, e.ptN, e.want)
			return
		}
		if cerr := e.w.Close(); cerr != nil {
			e.err = fmt.Errorf("age encrypt: %w", cerr)
			return
		}
		e.done = true
	case err != nil:
		e.err = fmt.Errorf("read snapshot: %w", err)
	}
}

// prefetch encrypts ahead until the whole ciphertext is buffered or more
// than limit bytes of it are, without consuming any. It reports whether
// the whole ciphertext, at most limit bytes, is buffered; a failure is
// left in e.err for the next Read.
func (e *encryptor) prefetch(limit int) bool {
	for !e.done && e.err == nil && e.sink.out.Len() <= limit {
		e.fill()
	}
	return e.done && e.err == nil && e.sink.out.Len() <= limit
}

// sums returns the SHA-256 of the plaintext and of the ciphertext, which
// are those of the snapshot once Read has returned io.EOF (the
// ciphertext's covers what was produced, read or not).
func (e *encryptor) sums() (pt, ct [32]byte) {
	e.ptHash.Sum(pt[:0])
	e.sink.ctHash.Sum(ct[:0])
	return pt, ct
}
