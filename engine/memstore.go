package engine

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// MemStorage is an in-memory [Storage] for tests and ephemeral groups.
// It is safe for concurrent use.
type MemStorage struct {
	mu      sync.RWMutex
	data    map[string][]byte
	applied int
}

var _ Storage = (*MemStorage)(nil)

// NewMemStorage returns an empty store.
func NewMemStorage() *MemStorage { return &MemStorage{data: map[string][]byte{}} }

func memKey(k Key) string {
	return hex.EncodeToString(k.Group) + "/" + string(k.Kind) + "/" + k.Name
}

// Get implements [Storage].
func (m *MemStorage) Get(_ context.Context, key Key) ([]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	v, ok := m.data[memKey(key)]
	if !ok {
		return nil, fmt.Errorf("%s/%s: %w", key.Kind, key.Name, ErrNotFound)
	}
	return bytes.Clone(v), nil
}

// List implements [Storage].
func (m *MemStorage) List(_ context.Context, group []byte, kind Kind) ([]string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	prefix := memKey(Key{Group: group, Kind: kind})
	var names []string
	for k := range m.data {
		if strings.HasPrefix(k, prefix) {
			names = append(names, k[len(prefix):])
		}
	}
	sort.Strings(names)
	return names, nil
}

// Groups implements [Storage].
func (m *MemStorage) Groups(_ context.Context) ([][]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	seen := map[string]bool{}
	for k := range m.data {
		g := k[:strings.IndexByte(k, '/')]
		if g != "" {
			seen[g] = true
		}
	}
	var out [][]byte
	for g := range seen {
		var b []byte
		if _, err := fmt.Sscanf(g, "%x", &b); err == nil {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i], out[j]) < 0 })
	return out, nil
}

// Apply implements [Storage].
func (m *MemStorage) Apply(ctx context.Context, b *Batch) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("apply %s: %w", b.Op, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range b.Deletes {
		delete(m.data, memKey(d))
	}
	for _, p := range b.Puts {
		m.data[memKey(p.Key)] = bytes.Clone(p.Value)
	}
	m.applied++
	return nil
}

// Dump returns a copy of every component keyed by "<group-hex>/<kind>/<name>",
// so tests can compare whole states byte for byte.
func (m *MemStorage) Dump() map[string][]byte {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make(map[string][]byte, len(m.data))
	for k, v := range m.data {
		out[k] = bytes.Clone(v)
	}
	return out
}
