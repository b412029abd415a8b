package storetest

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/uploader"
)

// mustPut stores data under key or fails the test.
func mustPut(t *testing.T, s uploader.ObjectStore, key, data string) {
	t.Helper()
	if err := s.Put(t.Context(), key, strings.NewReader(data), int64(len(data)), false); err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
}

// mustGet reads the whole object or fails the test.
func mustGet(t *testing.T, s uploader.ObjectStore, key string) string {
	t.Helper()
	r, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return string(b)
}

// assertAbsent checks that key is neither stat-able nor listed.
func assertAbsent(t *testing.T, s uploader.ObjectStore, key string) {
	t.Helper()
	_, err := s.Stat(t.Context(), key)
	if !errors.Is(err, uploader.ErrNotFound) {
		t.Fatalf("stat %q: got %v, want ErrNotFound", key, err)
	}
	got, err := s.List(t.Context(), "")
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if slices.Contains(infoKeys(got), key) {
		t.Fatalf("%q is listed", key)
	}
}

// checkErr checks that err wraps want and names key.
func checkErr(t *testing.T, op string, err, want error, key string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s %q: got %v, want %v", op, key, err, want)
	}
	if !strings.Contains(err.Error(), key) {
		t.Fatalf("%s %q: error %q does not name the key", op, key, err)
	}
}

func infoKeys(infos []uploader.ObjectInfo) []string {
	var keys []string
	for _, i := range infos {
		keys = append(keys, i.Key)
	}
	return keys
}

func equal(a, b []string) bool { return slices.Equal(a, b) }
