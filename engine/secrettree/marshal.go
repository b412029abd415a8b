package secrettree

import (
	"fmt"
	"slices"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/suite"
)

// encodingVersion is the first byte of the encoding (see the package doc).
const encodingVersion = 1

// MarshalBinary encodes the whole tree state canonically (format in the
// package documentation). The output holds secrets.
func (t *Tree) MarshalBinary() ([]byte, error) {
	if t.suite == nil {
		return nil, fmt.Errorf("marshal: uninitialized tree: %w", ErrConfig)
	}
	w := codec.NewWriter(nil)
	w.Uint8(encodingVersion)
	w.Uint16(uint16(t.suite.ID()))
	w.Uint32(t.n)
	w.Uint32(t.cfg.MaxForward)
	w.Uint32(uint32(t.cfg.MaxRetained))
	nodes := make([]uint32, 0, len(t.nodes))
	for x := range t.nodes {
		nodes = append(nodes, x)
	}
	slices.Sort(nodes)
	w.Vector(func(w *codec.Writer) {
		for _, x := range nodes {
			w.Uint32(x)
			w.Opaque(t.nodes[x])
		}
	})
	leaves := make([]uint32, 0, len(t.leaves))
	for i := range t.leaves {
		leaves = append(leaves, i)
	}
	slices.Sort(leaves)
	w.Vector(func(w *codec.Writer) {
		for _, i := range leaves {
			l := t.leaves[i]
			w.Uint32(i)
			for _, r := range l {
				w.Uint64(r.next)
				w.Opaque(r.secret)
				w.Vector(func(w *codec.Writer) {
					for _, k := range r.retained {
						w.Uint32(k.gen)
						w.Opaque(k.key)
						w.Opaque(k.nonce)
					}
				})
			}
		}
	})
	return w.Bytes(), nil
}

// UnmarshalBinary replaces t with the tree encoded in data, validating it
// completely. On error t is unchanged and the error wraps [ErrFormat] (or
// [suite.ErrUnsupported] for an unknown cipher suite).
func (t *Tree) UnmarshalBinary(data []byte) error {
	out, err := decode(data)
	if err != nil {
		return fmt.Errorf("unmarshal secret tree: %w", err)
	}
	*t = *out
	return nil
}

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrFormat)
}

func decode(data []byte) (*Tree, error) {
	r := codec.NewReader(data)
	version := r.Uint8()
	id := suite.ID(r.Uint16())
	n := r.Uint32()
	cfg := Config{MaxForward: r.Uint32(), MaxRetained: int(r.Uint32())}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if version != encodingVersion {
		return nil, formatErr("version %d", version)
	}
	s, err := suite.New(id)
	if err != nil {
		return nil, err
	}
	if n == 0 || n > MaxLeaves {
		return nil, formatErr("leaf count %d", n)
	}
	if cfg.Validate() != nil {
		return nil, formatErr("max retained %d", cfg.MaxRetained)
	}
	t := &Tree{suite: s, cfg: cfg, n: n, nodes: map[uint32][]byte{}, leaves: map[uint32]*leafRatchets{}}
	nh, nk, nn := s.Nh(), s.KeySize(), s.NonceSize()

	var derr error
	fail := func(e error) {
		if derr == nil {
			derr = e
		}
		r.Fail(ErrFormat)
	}
	prevNode := int64(-1)
	r.Vector(func(r *codec.Reader) {
		x := r.Uint32()
		sec := r.Opaque()
		if r.Err() != nil {
			return
		}
		switch {
		case int64(x) <= prevNode:
			fail(formatErr("node %d out of order", x))
		case !inTree(x, n):
			fail(formatErr("node %d outside the tree", x))
		case len(sec) != nh:
			fail(formatErr("node %d secret of %d bytes", x, len(sec)))
		}
		prevNode = int64(x)
		t.nodes[x] = slices.Clone(sec)
	})
	prevLeaf := int64(-1)
	r.Vector(func(r *codec.Reader) {
		leaf := r.Uint32()
		if r.Err() != nil {
			return
		}
		if int64(leaf) <= prevLeaf || leaf >= n {
			fail(formatErr("leaf %d out of order or range", leaf))
			return
		}
		prevLeaf = int64(leaf)
		l := &leafRatchets{}
		for i := range l {
			if err := decodeRatchet(r, &l[i], nh, nk, nn, cfg.MaxRetained); err != nil {
				fail(err)
				return
			}
		}
		t.leaves[leaf] = l
	})
	if derr != nil {
		return nil, derr
	}
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if err := t.checkShape(); err != nil {
		return nil, err
	}
	return t, nil
}

func decodeRatchet(r *codec.Reader, rt *ratchet, nh, nk, nn, maxRetained int) error {
	rt.next = r.Uint64()
	sec := r.Opaque()
	if r.Err() != nil {
		return r.Err()
	}
	switch {
	case rt.next > exhausted:
		return formatErr("next generation %d", rt.next)
	case rt.next == exhausted && len(sec) != 0:
		return formatErr("exhausted ratchet with a secret")
	case rt.next < exhausted && len(sec) != nh:
		return formatErr("ratchet secret of %d bytes", len(sec))
	}
	if len(sec) > 0 {
		rt.secret = slices.Clone(sec)
	}
	var bad error
	prev := int64(-1)
	r.Vector(func(r *codec.Reader) {
		g := r.Uint32()
		key := r.Opaque()
		nonce := r.Opaque()
		if r.Err() != nil || bad != nil {
			return
		}
		switch {
		case int64(g) <= prev || uint64(g) >= rt.next:
			bad = formatErr("retained generation %d out of order or not past", g)
		case len(key) != nk || len(nonce) != nn:
			bad = formatErr("retained key/nonce of %d/%d bytes", len(key), len(nonce))
		case len(rt.retained) >= maxRetained:
			bad = formatErr("more than %d retained keys", maxRetained)
		}
		prev = int64(g)
		rt.retained = append(rt.retained, retainedKey{gen: g, key: slices.Clone(key), nonce: slices.Clone(nonce)})
	})
	if bad != nil {
		return bad
	}
	return r.Err()
}

// checkShape verifies that no stored node is an ancestor of another stored
// node or of a leaf with ratchets, and that the stored nodes and the leaves
// with ratchets together cover every leaf exactly once. It costs
// O((nodes + leaves with ratchets) · depth), whatever the leaf count.
func (t *Tree) checkShape() error {
	var covered uint64
	for x := range t.nodes {
		for _, a := range path(t.n, x) {
			if a == x {
				break
			}
			if _, ok := t.nodes[a]; ok {
				return formatErr("node %d stored below stored node %d", x, a)
			}
		}
		covered += leavesUnder(x, t.n)
	}
	for leaf := range t.leaves {
		for _, a := range path(t.n, 2*leaf) {
			if _, ok := t.nodes[a]; ok {
				return formatErr("leaf %d has ratchets and stored node %d above", leaf, a)
			}
		}
		covered++
	}
	if covered != uint64(t.n) {
		return formatErr("stored nodes and ratchets cover %d of %d leaves", covered, t.n)
	}
	return nil
}

// inTree reports whether node x lies below the root of an n-leaf tree and
// covers at least one of its leaves.
func inTree(x, n uint32) bool {
	p := path(n, x)
	return p[len(p)-1] == x && leavesUnder(x, n) > 0
}

// leavesUnder returns how many of the n leaves lie below node x (x itself
// if it is a leaf).
func leavesUnder(x, n uint32) uint64 {
	span := uint64(1)<<level(x) - 1 // nodes on each side of x
	lo := (uint64(x) - span) / 2
	hi := (uint64(x) + span) / 2
	if hi >= uint64(n) {
		hi = uint64(n) - 1
	}
	if lo > hi {
		return 0
	}
	return hi - lo + 1
}
