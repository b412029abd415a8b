package mlscrash

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/mlsbackup/mlsbackup/engine"
)

// mutName is the identity of the member under test.
const mutName = "mut"

// member is one MLS client with its own store and its loaded groups.
type member struct {
	name   string
	st     engine.Storage
	client *engine.Client
	opts   engine.Options
	groups map[string]*engine.Group
}

func newMember(name string, st engine.Storage, opts engine.Options) *member {
	return &member{name: name, st: st, client: engine.NewClient(st, []byte(name), opts), opts: opts, groups: map[string]*engine.Group{}}
}

// seededOptions returns opts with a deterministic randomness source for
// the named member, so that a workload run is reproducible.
func seededOptions(opts engine.Options, seed uint64, name string) engine.Options {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	copy(key[8:], name)
	opts.Rand = rand.NewChaCha8(key)
	return opts
}

// cloneMem copies every component of src into a new MemStorage.
func cloneMem(ctx context.Context, src *engine.MemStorage) (*engine.MemStorage, error) {
	dst := engine.NewMemStorage()
	b := &engine.Batch{Op: "clone"}
	for k, v := range src.Dump() {
		key, err := parseDumpKey(k)
		if err != nil {
			return nil, err
		}
		b.Puts = append(b.Puts, engine.Put{Key: key, Value: v})
	}
	if err := dst.Apply(ctx, b); err != nil {
		return nil, fmt.Errorf("clone store: %w", err)
	}
	return dst, nil
}

// parseDumpKey inverts the "<group-hex>/<kind>/<name>" keys of
// MemStorage.Dump.
func parseDumpKey(k string) (engine.Key, error) {
	parts := strings.SplitN(k, "/", 3)
	if len(parts) != 3 {
		return engine.Key{}, fmt.Errorf("clone store: bad key %q", k)
	}
	g, err := hex.DecodeString(parts[0])
	if err != nil {
		return engine.Key{}, fmt.Errorf("clone store: bad group in key %q: %w", k, err)
	}
	if len(g) == 0 {
		g = nil
	}
	return engine.Key{Group: g, Kind: engine.Kind(parts[1]), Name: parts[2]}, nil
}

// clone returns a copy of an in-memory member whose group focus is
// loaded from a copy of its store, with fresh randomness. Its other groups
// are the original's and must only be read.
func (m *member) clone(ctx context.Context, focus string) (*member, error) {
	ms, ok := m.st.(*engine.MemStorage)
	if !ok {
		return nil, fmt.Errorf("clone %s: not an in-memory member", m.name)
	}
	st, err := cloneMem(ctx, ms)
	if err != nil {
		return nil, fmt.Errorf("clone %s: %w", m.name, err)
	}
	opts := m.opts
	opts.Rand = nil
	c := newMember(m.name, st, opts)
	for gid, g := range m.groups {
		c.groups[gid] = g
	}
	if _, ok := m.groups[focus]; ok {
		g, err := engine.LoadGroup(ctx, st, []byte(focus), opts)
		if err != nil {
			return nil, fmt.Errorf("clone %s: %w", m.name, err)
		}
		c.groups[focus] = g
	}
	return c, nil
}
