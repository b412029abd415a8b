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
// memory, and it hashes and counts both plaintext and ciphertext as they
// pass. It needs no goroutine: the store's Put drives it.
type encryptor struct {
	src     io.Reader
	w       io.WriteCloser // age payload writer, writing into out
	out     bytes.Buffer   // header, then ciphertext not yet read
	scratch []byte
	want    int64 // expected plaintext size, 0 if unknown
	header  int64 // header and nonce size
	done    bool  // src reached EOF and w is closed
	err     error

	ptHash, ctHash hash.Hash
	ptN, ctN       int64
	onPlain        func(done int64)
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
		ctHash:  sha256.New(),
		onPlain: onPlain,
	}
	w, err := age.Encrypt(&e.out, recipients...)
	if err != nil {
		return nil, fmt.Errorf("age encrypt: %w", err)
	}
	e.w = w
	e.header = int64(e.out.Len())
	return e, nil
}

// size is the exact ciphertext size if the plaintext size is known, else -1.
func (e *encryptor) size() int64 {
	if e.want <= 0 {
		return -1
	}
	return e.header + agePayloadSize(e.want)
}

// Read implements io.Reader.
func (e *encryptor) Read(p []byte) (int, error) {
	for e.out.Len() == 0 {
		if e.err != nil {
			return 0, e.err
		}
		if e.done {
			return 0, io.EOF
		}
		e.fill()
	}
	n, _ := e.out.Read(p)
	e.ctHash.Write(p[:n])
	e.ctN += int64(n)
	return n, nil
}

// fill reads one chunk of plaintext and encrypts it into out.
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
	for !e.done && e.err == nil && e.out.Len() <= limit {
		e.fill()
	}
	return e.done && e.err == nil && e.out.Len() <= limit
}

// sums returns the SHA-256 of the plaintext and the ciphertext so far.
func (e *encryptor) sums() (pt, ct [32]byte) {
	e.ptHash.Sum(pt[:0])
	e.ctHash.Sum(ct[:0])
	return pt, ct
}
