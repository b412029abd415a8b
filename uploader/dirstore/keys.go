package dirstore

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/mlsbackup/mlsbackup/internal/atomicfile"
)

// ErrInvalidKey: a key that cannot be stored safely in a directory.
var ErrInvalidKey = errors.New("dirstore: invalid key")

// maxKeyLen matches S3's limit on key length.
const maxKeyLen = 1024

// CheckKey reports whether key can name an object: a non-empty
// '/'-separated relative path of at most 1024 bytes of UTF-8, without
// empty, "." or ".." segments, NUL or backslash, and no segment starting
// with the temporary-file prefix. So a key can never leave the root.
func CheckKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	if len(key) > maxKeyLen {
		return fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidKey, len(key), maxKeyLen)
	}
	if !utf8.ValidString(key) {
		return fmt.Errorf("%w: %q is not UTF-8", ErrInvalidKey, key)
	}
	if strings.ContainsAny(key, "\x00\\") {
		return fmt.Errorf("%w: %q contains NUL or backslash", ErrInvalidKey, key)
	}
	if strings.HasPrefix(key, "/") {
		return fmt.Errorf("%w: %q is absolute", ErrInvalidKey, key)
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "":
			return fmt.Errorf("%w: %q has an empty segment", ErrInvalidKey, key)
		case seg == "." || seg == "..":
			return fmt.Errorf("%w: %q has a %q segment", ErrInvalidKey, key, seg)
		case atomicfile.IsTemp(seg):
			return fmt.Errorf("%w: %q has a segment starting with %q", ErrInvalidKey, key, atomicfile.TempPrefix)
		}
	}
	return nil
}

// path maps a checked key to its file.
func (s *Store) path(key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}
