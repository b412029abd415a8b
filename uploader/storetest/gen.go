package storetest

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"io"
	"math/rand/v2"
)

// Stream is a deterministic pseudo-random byte stream of a fixed length,
// generated as it is read, so tests can upload large objects without
// holding them in memory. It hashes what it hands out.
type Stream struct {
	rng       *rand.ChaCha8
	remaining int64
	sum       hash.Hash
	// onRead, if set, is called with the total handed out so far after
	// each Read.
	onRead func(total int64)
	total  int64
}

// NewStream returns n bytes of a stream determined by seed.
func NewStream(seed uint64, n int64) *Stream {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return &Stream{rng: rand.NewChaCha8(s), remaining: n, sum: sha256.New()}
}

// Read implements io.Reader.
func (s *Stream) Read(p []byte) (int, error) {
	if s.remaining <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > s.remaining {
		p = p[:s.remaining]
	}
	_, _ = s.rng.Read(p)
	s.sum.Write(p)
	s.remaining -= int64(len(p))
	s.total += int64(len(p))
	if s.onRead != nil {
		s.onRead(s.total)
	}
	return len(p), nil
}

// Sum returns the SHA-256 of the bytes read so far.
func (s *Stream) Sum() []byte { return s.sum.Sum(nil) }

// OnRead sets a function called with the running total after each Read.
func (s *Stream) OnRead(f func(total int64)) { s.onRead = f }

// HashReader returns the SHA-256 and length of what r yields.
func HashReader(r io.Reader) ([]byte, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return h.Sum(nil), n, err
}
