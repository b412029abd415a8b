// Package storetest is the contract every [uploader.ObjectStore] must
// meet, as one test suite that runs against each implementation: the
// local directory, MinIO and versitygw.
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) uploader.ObjectStore { return newEmptyStore(t) })
//	}
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/uploader"
)

// LargeSize is the size of the large-object test: above 64 MiB, so S3
// stores upload it in parts, and not a multiple of any part size.
const LargeSize = 64<<20 + 12345

// Run runs the contract suite. newStore returns a fresh, empty store for
// each subtest and arranges its cleanup.
func Run(t *testing.T, newStore func(t *testing.T) uploader.ObjectStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s uploader.ObjectStore)
	}{
		{"PutGetStat", testPutGetStat},
		{"Missing", testMissing},
		{"Overwrite", testOverwrite},
		{"IfNoneMatch", testIfNoneMatch},
		{"SizeMismatch", testSizeMismatch},
		{"List", testList},
		{"Delete", testDelete},
		{"PrefixIsNotObject", testPrefixIsNotObject},
		{"ConcurrentKeys", testConcurrentKeys},
		{"ConcurrentSameKey", testConcurrentSameKey},
		{"Large", testLarge},
		{"CancelMidUpload", testCancelMidUpload},
		{"CancelledContext", testCancelledContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			if s.String() == "" {
				t.Fatal("String() is empty")
			}
			tc.fn(t, s)
		})
	}
}

func testPutGetStat(t *testing.T, s uploader.ObjectStore) {
	ctx := t.Context()
	tests := []struct {
		key       string
		data      string
		knownSize bool
	}{
		{"empty", "", true},
		{"small", "hello, world", true},
		{"unknown-size", "size not given", false},
		{"group/0001/epoch-00000042.age", "nested", true},
		{"odd chars/a+b=c,d;e@f~g.bin", "escaped", true},
		{"binary", "\x00\x01\xff\xfe", false},
	}
	for _, tc := range tests {
		size := int64(len(tc.data))
		if !tc.knownSize {
			size = -1
		}
		before := time.Now().Add(-time.Hour)
		if err := s.Put(ctx, tc.key, strings.NewReader(tc.data), size, false); err != nil {
			t.Fatalf("put %q: %v", tc.key, err)
		}
		if got := mustGet(t, s, tc.key); got != tc.data {
			t.Errorf("get %q: got %q, want %q", tc.key, got, tc.data)
		}
		info, err := s.Stat(ctx, tc.key)
		if err != nil {
			t.Fatalf("stat %q: %v", tc.key, err)
		}
		if info.Key != tc.key || info.Size != int64(len(tc.data)) {
			t.Errorf("stat %q: got key %q size %d, want %q %d", tc.key, info.Key, info.Size, tc.key, len(tc.data))
		}
		if info.ModTime.Before(before) || info.ModTime.After(time.Now().Add(time.Hour)) {
			t.Errorf("stat %q: mod time %v is not about now", tc.key, info.ModTime)
		}
	}
}

func testMissing(t *testing.T, s uploader.ObjectStore) {
	ctx := t.Context()
	const key = "no/such/object"
	_, err := s.Get(ctx, key)
	checkErr(t, "get", err, uploader.ErrNotFound, key)
	_, err = s.Stat(ctx, key)
	checkErr(t, "stat", err, uploader.ErrNotFound, key)
}

func testOverwrite(t *testing.T, s uploader.ObjectStore) {
	mustPut(t, s, "k", "first")
	mustPut(t, s, "k", "second, longer")
	if got, want := mustGet(t, s, "k"), "second, longer"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func testIfNoneMatch(t *testing.T, s uploader.ObjectStore) {
	ctx := t.Context()
	const key = "claims/lease"
	if err := s.Put(ctx, key, strings.NewReader("mine"), 4, true); err != nil {
		t.Fatalf("first conditional put: %v", err)
	}
	err := s.Put(ctx, key, strings.NewReader("theirs"), 6, true)
	checkErr(t, "second conditional put", err, uploader.ErrExists, key)
	err = s.Put(ctx, key, strings.NewReader("theirs"), -1, true)
	checkErr(t, "second conditional put of unknown size", err, uploader.ErrExists, key)
	if got := mustGet(t, s, key); got != "mine" {
		t.Fatalf("after conflict got %q, want %q", got, "mine")
	}
}

func testSizeMismatch(t *testing.T, s uploader.ObjectStore) {
	ctx := t.Context()
	tests := []struct {
		key  string
		data string
		size int64
	}{
		{"short", "12345", 10},
		{"long", "1234567890", 5},
	}
	for _, tc := range tests {
		if err := s.Put(ctx, tc.key, strings.NewReader(tc.data), tc.size, false); err == nil {
			t.Errorf("put %q: %d bytes announced as %d: no error", tc.key, len(tc.data), tc.size)
		}
		assertAbsent(t, s, tc.key)
	}
}

func testList(t *testing.T, s uploader.ObjectStore) {
	ctx := t.Context()
	keys := []string{"g1/e0002", "g10/x", "g1-x", "g1/e0001", "g2/e0001", "g1/sub/deep", "top"}
	for i, k := range keys {
		mustPut(t, s, k, strings.Repeat("x", i))
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"g1-x", "g1/e0001", "g1/e0002", "g1/sub/deep", "g10/x", "g2/e0001", "top"}},
		{"g1/", []string{"g1/e0001", "g1/e0002", "g1/sub/deep"}},
		{"g1", []string{"g1-x", "g1/e0001", "g1/e0002", "g1/sub/deep", "g10/x"}},
		{"g1/e", []string{"g1/e0001", "g1/e0002"}},
		{"g1/e0001", []string{"g1/e0001"}},
		{"nope/", nil},
		{"g3", nil},
	}
	sizes := map[string]int64{}
	for i, k := range keys {
		sizes[k] = int64(i)
	}
	for _, tc := range tests {
		got, err := s.List(ctx, tc.prefix)
		if err != nil {
			t.Fatalf("list %q: %v", tc.prefix, err)
		}
		if gk := infoKeys(got); !equal(gk, tc.want) {
			t.Errorf("list %q: got %q, want %q", tc.prefix, gk, tc.want)
		}
		for _, info := range got {
			if info.Size != sizes[info.Key] {
				t.Errorf("list %q: %s has size %d, want %d", tc.prefix, info.Key, info.Size, sizes[info.Key])
			}
		}
	}
}

func testDelete(t *testing.T, s uploader.ObjectStore) {
	ctx := t.Context()
	mustPut(t, s, "d/one", "1")
	mustPut(t, s, "d/two", "2")
	if err := s.Delete(ctx, "d/one"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	assertAbsent(t, s, "d/one")
	if got := mustGet(t, s, "d/two"); got != "2" {
		t.Fatalf("sibling: got %q, want %q", got, "2")
	}
	if err := s.Delete(ctx, "d/one"); err != nil {
		t.Fatalf("delete of a missing key: %v", err)
	}
	if err := s.Delete(ctx, "never/was"); err != nil {
		t.Fatalf("delete of a never-written key: %v", err)
	}
	got, err := s.List(ctx, "d/")
	if err != nil {
		t.Fatal(err)
	}
	if gk, want := infoKeys(got), []string{"d/two"}; !equal(gk, want) {
		t.Fatalf("list after delete: got %q, want %q", gk, want)
	}
}

func testPrefixIsNotObject(t *testing.T, s uploader.ObjectStore) {
	ctx := t.Context()
	mustPut(t, s, "p/q/r", "leaf")
	for _, key := range []string{"p", "p/q"} {
		_, err := s.Stat(ctx, key)
		checkErr(t, "stat of a prefix", err, uploader.ErrNotFound, key)
		_, err = s.Get(ctx, key)
		checkErr(t, "get of a prefix", err, uploader.ErrNotFound, key)
		if err := s.Delete(ctx, key); err != nil {
			t.Fatalf("delete of a prefix %q: %v", key, err)
		}
	}
	if got := mustGet(t, s, "p/q/r"); got != "leaf" {
		t.Fatalf("got %q, want %q", got, "leaf")
	}
}

func testConcurrentKeys(t *testing.T, s uploader.ObjectStore) {
	ctx := t.Context()
	const writers, perWriter = 16, 8
	errs := make(chan error, writers*perWriter)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				key := fmt.Sprintf("c/w%02d/k%02d", w, i)
				errs <- s.Put(ctx, key, strings.NewReader(key), int64(len(key)), i%2 == 0)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.List(ctx, "c/")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != writers*perWriter {
		t.Fatalf("listed %d objects, want %d", len(got), writers*perWriter)
	}
	for _, info := range got {
		if data := mustGet(t, s, info.Key); data != info.Key {
			t.Fatalf("%s holds %q", info.Key, data)
		}
	}
}

func testConcurrentSameKey(t *testing.T, s uploader.ObjectStore) {
	ctx := t.Context()
	const writers = 8
	const key = "race/claim"
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			data := fmt.Sprintf("writer %d", w)
			errs[w] = s.Put(ctx, key, strings.NewReader(data), int64(len(data)), true)
		})
	}
	wg.Wait()
	winner := -1
	for w, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("writers %d and %d both won", winner, w)
			}
			winner = w
		case !errors.Is(err, uploader.ErrExists):
			t.Fatalf("writer %d: got %v, want nil or ErrExists", w, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer won")
	}
	if got, want := mustGet(t, s, key), fmt.Sprintf("writer %d", winner); got != want {
		t.Fatalf("got %q, want the winner's %q", got, want)
	}
}

func testLarge(t *testing.T, s uploader.ObjectStore) {
	if testing.Short() {
		t.Skip("64 MiB object: skipped in -short mode")
	}
	ctx := t.Context()
	const key = "large/object"
	src := NewStream(1, LargeSize)
	if err := s.Put(ctx, key, src, LargeSize, true); err != nil {
		t.Fatalf("put: %v", err)
	}
	info, err := s.Stat(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != LargeSize {
		t.Fatalf("size %d, want %d", info.Size, LargeSize)
	}
	r, err := s.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sum, n, err := HashReader(r)
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if n != LargeSize || !bytes.Equal(sum, src.Sum()) {
		t.Fatalf("read back %d bytes with SHA-256 %x, want %d bytes with %x", n, sum, LargeSize, src.Sum())
	}
}

func testCancelMidUpload(t *testing.T, s uploader.ObjectStore) {
	tests := []struct {
		name        string
		size        int64
		ifNoneMatch bool
	}{
		{"known-size", LargeSize, false},
		{"unknown-size", -1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := "cancel/" + tc.name
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			src := NewStream(2, LargeSize)
			// Cancel once well into the object, past the first part of a
			// multipart upload.
			src.OnRead(func(total int64) {
				if total >= 12<<20 {
					cancel()
				}
			})
			err := s.Put(ctx, key, src, tc.size, tc.ifNoneMatch)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("put: got %v, want context.Canceled", err)
			}
			assertAbsent(t, s, key)
			// Nothing half-done blocks a fresh attempt.
			if err := s.Put(t.Context(), key, strings.NewReader("retry"), 5, true); err != nil {
				t.Fatalf("put after cancel: %v", err)
			}
			if got := mustGet(t, s, key); got != "retry" {
				t.Fatalf("got %q, want %q", got, "retry")
			}
		})
	}
}

func testCancelledContext(t *testing.T, s uploader.ObjectStore) {
	mustPut(t, s, "exists", "x")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Put(ctx, "new", strings.NewReader("x"), 1, false)
	checkErr(t, "put", err, context.Canceled, "new")
	_, err = s.Get(ctx, "exists")
	checkErr(t, "get", err, context.Canceled, "exists")
	_, err = s.Stat(ctx, "exists")
	checkErr(t, "stat", err, context.Canceled, "exists")
	_, err = s.List(ctx, "")
	checkErr(t, "list", err, context.Canceled, "")
	err = s.Delete(ctx, "exists")
	checkErr(t, "delete", err, context.Canceled, "exists")
	assertAbsent(t, s, "new")
	if got := mustGet(t, s, "exists"); got != "x" {
		t.Fatalf("got %q, want %q", got, "x")
	}
}
