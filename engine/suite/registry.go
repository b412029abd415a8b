package suite

import "sync"

// Registry hands out one Suite per cipher suite, so that the groups of a
// process share a Suite's caches — above all its bounded cache of
// successful signature verifications — instead of each loaded group
// holding its own. A nil *Registry gives a new Suite on every call. It is safe for
// concurrent use, as a Suite is.
type Registry struct {
	mu     sync.Mutex
	suites map[ID]*Suite
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{suites: map[ID]*Suite{}} }

// Get returns the registry's Suite for id, creating it on first use.
func (r *Registry) Get(id ID) (*Suite, error) {
	if r == nil {
		return New(id)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.suites[id]; ok {
		return s, nil
	}
	s, err := New(id)
	if err != nil {
		return nil, err
	}
	r.suites[id] = s
	return s, nil
}
