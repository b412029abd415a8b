package localstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// ErrCorrupt is wrapped by every [*CorruptFileError].
var ErrCorrupt = errors.New("localstore: corrupt file")

// CorruptFileError names a file whose header or checksum does not match.
// The file is left as it is.
type CorruptFileError struct {
	// Path is the file.
	Path string
	// Reason says which check failed.
	Reason string
}

// Error implements error.
func (e *CorruptFileError) Error() string {
	return fmt.Sprintf("localstore: corrupt file %s: %s", e.Path, e.Reason)
}

// Unwrap makes errors.Is(err, [ErrCorrupt]) true.
func (e *CorruptFileError) Unwrap() error { return ErrCorrupt }

const componentHeaderSize = 24

var (
	componentMagic = [8]byte{'M', 'L', 'S', 'B', 'C', 'M', 'P', 0}
	castagnoli     = crc32.MakeTable(crc32.Castagnoli)
)

func crc32c(parts ...[]byte) uint32 {
	var c uint32
	for _, p := range parts {
		c = crc32.Update(c, castagnoli, p)
	}
	return c
}

// encodeComponent frames a component value (see the package doc).
func encodeComponent(value []byte) []byte {
	b := make([]byte, componentHeaderSize, componentHeaderSize+len(value))
	copy(b, componentMagic[:])
	binary.LittleEndian.PutUint32(b[8:], 1)
	binary.LittleEndian.PutUint64(b[16:], uint64(len(value)))
	b = append(b, value...)
	binary.LittleEndian.PutUint32(b[12:], crc32c(b[0:12], b[16:]))
	return b
}

// decodeComponent checks the frame of a component file and returns its value.
func decodeComponent(path string, b []byte) ([]byte, error) {
	bad := func(reason string) error { return &CorruptFileError{Path: path, Reason: reason} }
	if len(b) < componentHeaderSize {
		return nil, bad("short header")
	}
	if [8]byte(b[0:8]) != componentMagic {
		return nil, bad("bad magic")
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != 1 {
		return nil, bad(fmt.Sprintf("unsupported component version %d", v))
	}
	if n := binary.LittleEndian.Uint64(b[16:]); n != uint64(len(b)-componentHeaderSize) {
		return nil, bad(fmt.Sprintf("length %d does not match file size %d", n, len(b)))
	}
	if binary.LittleEndian.Uint32(b[12:]) != crc32c(b[0:12], b[16:]) {
		return nil, bad("checksum mismatch")
	}
	return b[componentHeaderSize:], nil
}
