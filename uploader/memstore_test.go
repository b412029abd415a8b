package uploader

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// memStore is a tiny in-memory ObjectStore for unit tests. failPut, if
// set, is consulted before each Put and can inject an error.
type memStore struct {
	mu      sync.Mutex
	objs    map[string][]byte
	mtime   map[string]time.Time
	failPut func(key string) error
	now     func() time.Time
	gets    int // Get calls
}

var _ ObjectStore = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{objs: make(map[string][]byte), mtime: make(map[string]time.Time), now: time.Now}
}

func (s *memStore) Put(ctx context.Context, key string, r io.Reader, size int64, ifNoneMatch bool) error {
	s.mu.Lock()
	fail := s.failPut
	s.mu.Unlock()
	if fail != nil {
		if err := fail(key); err != nil {
			return err
		}
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if size >= 0 && int64(len(data)) != size {
		return fmt.Errorf("put %s: got %d bytes, size %d", key, len(data), size)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.objs[key]; ok && ifNoneMatch {
		return fmt.Errorf("put %s: %w", key, ErrExists)
	}
	s.objs[key] = data
	s.mtime[key] = s.now()
	return nil
}

func (s *memStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	data, ok := s.objs[key]
	if !ok {
		return nil, fmt.Errorf("get %s: %w", key, ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

func (s *memStore) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, ok := s.objs[key]
	if !ok {
		return ObjectInfo{}, fmt.Errorf("stat %s: %w", key, ErrNotFound)
	}
	return ObjectInfo{Key: key, Size: int64(len(data)), ModTime: s.mtime[key]}, nil
}

func (s *memStore) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ObjectInfo
	for k, v := range s.objs {
		if strings.HasPrefix(k, prefix) {
			out = append(out, ObjectInfo{Key: k, Size: int64(len(v)), ModTime: s.mtime[k]})
		}
	}
	slices.SortFunc(out, func(a, b ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

func (s *memStore) Delete(ctx context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objs, key)
	delete(s.mtime, key)
	return nil
}

func (s *memStore) String() string { return "mem://" }

// keys returns every key, sorted.
func (s *memStore) keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ks []string
	for k := range s.objs {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// mutate replaces an object's bytes with f(bytes).
func (s *memStore) mutate(key string, f func([]byte) []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objs[key] = f(bytes.Clone(s.objs[key]))
}

// getCount returns the Get calls so far.
func (s *memStore) getCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets
}
