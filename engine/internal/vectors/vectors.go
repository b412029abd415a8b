// Package vectors loads the official MLS interop test vectors for tests.
//
// By default it reads the gzip-compressed copies committed under
// engine/testdata/vectors; when the environment variable MLS_TEST_VECTORS
// names a directory, the plain .json (or .json.gz) files there are used
// instead.
package vectors

import (
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// EnvDir is the environment variable that overrides the vectors directory.
const EnvDir = "MLS_TEST_VECTORS"

// Dir returns the directory vectors are read from.
func Dir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "vectors")
}

// Files returns the vector file names in [Dir] without extensions
// (e.g. "tree-math"), sorted.
func Files() ([]string, error) {
	entries, err := os.ReadDir(Dir())
	if err != nil {
		return nil, fmt.Errorf("read vectors dir: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		n := e.Name()
		n = strings.TrimSuffix(n, ".gz")
		n = strings.TrimSuffix(n, ".json")
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// Load decodes the vector file called name (without extension) into v.
func Load(name string, v any) error {
	dir := Dir()
	for _, p := range []string{name + ".json", name + ".json.gz"} {
		path := filepath.Join(dir, p)
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		defer f.Close()
		var r io.Reader = f
		if strings.HasSuffix(p, ".gz") {
			gz, err := gzip.NewReader(f)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			r = gz
		}
		if err := json.NewDecoder(r).Decode(v); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	}
	return fmt.Errorf("vector file %q not found in %s", name, dir)
}

// Hex is a byte string that decodes from a JSON hex string (null → nil).
type Hex []byte

// UnmarshalJSON implements json.Unmarshaler.
func (h *Hex) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*h = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	*h = d
	return nil
}
