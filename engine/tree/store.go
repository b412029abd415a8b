package tree

import "github.com/mlsbackup/mlsbackup/engine/wire"

// chunkShift sets the copy-on-write granularity of a node store: 64 slots.
const (
	chunkShift = 6
	chunkLen   = 1 << chunkShift
)

// slot holds one node of the tree, its cached tree hash and its cached
// optional<Node> encoding (nil = not computed).
type slot struct {
	node *wire.Node
	hash []byte
	enc  []byte
}

// chunk is a run of slots owned by the store whose owner token it carries;
// a store writes only to chunks it owns and copies the others first.
type chunk struct {
	owner *int
	s     [chunkLen]slot
}

// store is a copy-on-write array of slots. Cloning shares every chunk, so
// a clone costs O(n/64) and the first write to a chunk copies 64 slots.
type store struct {
	chunks []*chunk
	n      int
	owner  *int
}

func newStore(n int) store {
	s := store{owner: new(int)}
	s.resize(n)
	return s
}

// len returns the number of slots.
func (s *store) len() int { return s.n }

// at returns slot i for reading. The slot must not be modified.
func (s *store) at(i NodeIndex) *slot { return &s.chunks[i>>chunkShift].s[i&(chunkLen-1)] }

// mut returns slot i for writing, copying its chunk first if it is shared.
func (s *store) mut(i NodeIndex) *slot {
	k := i >> chunkShift
	c := s.chunks[k]
	if c.owner != s.owner {
		nc := &chunk{owner: s.owner, s: c.s}
		s.chunks[k] = nc
		c = nc
	}
	return &c.s[i&(chunkLen-1)]
}

// ownAll makes every chunk owned by s, so that distinct slots can then be
// written concurrently.
func (s *store) ownAll() {
	for k, c := range s.chunks {
		if c.owner != s.owner {
			s.chunks[k] = &chunk{owner: s.owner, s: c.s}
		}
	}
}

// clone returns a store sharing all chunks with s. Both get fresh owner
// tokens, so neither writes to a shared chunk in place afterwards.
func (s *store) clone() store {
	s.owner = new(int)
	c := store{chunks: make([]*chunk, len(s.chunks)), n: s.n, owner: new(int)}
	copy(c.chunks, s.chunks)
	return c
}

// resize grows the store with empty slots or shrinks it.
func (s *store) resize(n int) {
	if n < s.n {
		for i := n; i < s.n && i%chunkLen != 0; i++ {
			*s.mut(NodeIndex(i)) = slot{}
		}
		need := (n + chunkLen - 1) / chunkLen
		clear(s.chunks[need:])
		s.chunks = s.chunks[:need]
		s.n = n
		return
	}
	need := (n + chunkLen - 1) / chunkLen
	for len(s.chunks) < need {
		s.chunks = append(s.chunks, &chunk{owner: s.owner})
	}
	s.n = n
}
