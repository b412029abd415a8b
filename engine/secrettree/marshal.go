package secrettree

import (
	"errors"
	"fmt"
	"slices"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/suite"
)

// encodingVersion is the first byte of the encoding (see the package doc).
const encodingVersion = 1

// MarshalBinary encodes the whole tree state canonically (format in the
// package documentation). The output holds secrets. It does not reset the
// change set of [Tree.TakeChanges].
func (t *Tree) MarshalBinary() ([]byte, error) {
	w, err := t.writeHeader()
	if err != nil {
		return nil, err
	}
	leaves := t.leafIndexes()
	w.Vector(func(w *codec.Writer) {
		for _, i := range leaves {
			t.writeLeaf(w, i)
		}
	})
	return w.Bytes(), nil
}

// MarshalHeader encodes the tree without its leaf ratchets: the SecretTree
// struct of the package documentation up to and including nodes. Together
// with [Tree.MarshalLeaf] for every leaf with ratchets it lets a caller
// persist only what [Tree.TakeChanges] reports; [Tree.UnmarshalParts]
// reassembles the parts.
func (t *Tree) MarshalHeader() ([]byte, error) {
	w, err := t.writeHeader()
	if err != nil {
		return nil, err
	}
	return w.Bytes(), nil
}

// MarshalLeaf encodes the LeafRatchets record of leaf, or returns false if
// the leaf has no ratchets yet (its secrets are still in the header's
// nodes).
func (t *Tree) MarshalLeaf(leaf uint32) ([]byte, bool) {
	l := t.leaf(leaf)
	if l == nil {
		return nil, false
	}
	w := codec.NewWriter(make([]byte, 0, leafLen(l)))
	t.writeLeaf(w, leaf)
	return w.Bytes(), true
}

// leafLen is the length of the LeafRatchets record of l.
func leafLen(l *leafRatchets) int {
	n := 4
	for _, r := range l.r {
		keys := retainedLen(&r)
		_, secret := r.stored()
		n += 8 + codec.OpaqueLen(secret) + codec.VarintLen(keys) + keys
	}
	return n
}

// ExhaustLeafRecord returns the [Tree.MarshalLeaf] record rec with both
// of its leaf's ratchets exhausted and no retained keys: a tree decoded
// with it yields no key of that leaf. It is for a copy of a sender's state
// that must never send (a snapshot): its own ratchets would only give the
// keys of the messages it sends after the copy was taken.
func ExhaustLeafRecord(rec []byte) ([]byte, error) {
	r := codec.NewReader(rec)
	leaf := r.Uint32()
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("exhaust leaf record: %w", asFormat(err))
	}
	w := codec.NewWriter(make([]byte, 0, 4+2*(8+1+1)))
	w.Uint32(leaf)
	for range 2 {
		w.Uint64(exhausted)
		w.Opaque(nil)
		w.Varint(0)
	}
	return w.Bytes(), nil
}

// LeavesWithRatchets returns, ascending, the leaves whose state is in a
// [Tree.MarshalLeaf] record rather than in the header.
func (t *Tree) LeavesWithRatchets() []uint32 { return t.leafIndexes() }

// TakeChanges reports which parts changed since the previous call (or
// since [New] or an unmarshal): whether the header must be rewritten and
// which leaf records, ascending. It resets the change set. A fresh tree
// from [New] reports a changed header.
func (t *Tree) TakeChanges() (header bool, leaves []uint32) {
	header, leaves = t.headerChanged, t.changed
	t.headerChanged, t.changed = false, nil
	return header, leaves
}

func (t *Tree) leafIndexes() []uint32 {
	leaves := make([]uint32, 0, len(t.leaves)+len(t.recent))
	for i := range t.allLeaves() {
		leaves = append(leaves, i)
	}
	slices.Sort(leaves)
	return leaves
}

func (t *Tree) writeHeader() (*codec.Writer, error) {
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
	return w, nil
}

// writeLeaf writes the LeafRatchets record of leaf; a reserved ratchet
// (see [Tree.Reserve]) is written as its reservation. The retained keys'
// vector length is written first rather than through
// [codec.Writer.Vector], so that w can stay on its caller's stack.
func (t *Tree) writeLeaf(w *codec.Writer, leaf uint32) {
	w.Uint32(leaf)
	for _, r := range t.leaf(leaf).r {
		next, secret := r.stored()
		w.Uint64(next)
		w.Opaque(secret)
		w.Varint(retainedLen(&r))
		for _, k := range r.retained {
			w.Uint32(k.gen)
			w.Opaque(k.key)
			w.Opaque(k.nonce)
		}
	}
}

// retainedLen is the encoded length of r's retained keys, without the
// vector header.
func retainedLen(r *ratchet) int {
	n := 0
	for _, k := range r.retained {
		n += 4 + codec.OpaqueLen(k.key) + codec.OpaqueLen(k.nonce)
	}
	return n
}

// UnmarshalBinary replaces t with the tree encoded in data, validating it
// completely. On error t is unchanged and the error wraps [ErrFormat] (or
// [suite.ErrUnsupported] for an unknown cipher suite).
func (t *Tree) UnmarshalBinary(data []byte) error {
	r := codec.NewReader(data)
	out, err := decodeHeader(r)
	if err == nil {
		prev := int64(-1)
		r.Vector(func(r *codec.Reader) {
			leaf, err := out.decodeLeaf(r)
			switch {
			case err != nil:
				r.Fail(err)
			case int64(leaf) <= prev:
				r.Fail(formatErr("leaf %d out of order", leaf))
			}
			prev = int64(leaf)
		})
		err = out.finish(r)
	}
	if err != nil {
		return fmt.Errorf("unmarshal secret tree: %w", err)
	}
	*t = *out
	return nil
}

// UnmarshalParts replaces t with the tree made of a [Tree.MarshalHeader]
// encoding and the [Tree.MarshalLeaf] records of every leaf with ratchets,
// in any order. It validates like [Tree.UnmarshalBinary].
func (t *Tree) UnmarshalParts(header []byte, leaves [][]byte) error {
	r := codec.NewReader(header)
	out, err := decodeHeader(r)
	if err == nil {
		err = r.Finish()
	}
	for _, rec := range leaves {
		if err != nil {
			break
		}
		lr := codec.NewReader(rec)
		before := len(out.leaves)
		var leaf uint32
		leaf, err = out.decodeLeaf(lr)
		if err == nil && len(out.leaves) == before {
			err = formatErr("leaf %d twice", leaf)
		}
		if err == nil {
			err = lr.Finish()
		}
	}
	if err == nil {
		err = out.checkShape()
	}
	if err != nil {
		if !errors.Is(err, ErrFormat) && !errors.Is(err, suite.ErrUnsupported) {
			err = fmt.Errorf("%w: %w", ErrFormat, err)
		}
		return fmt.Errorf("unmarshal secret tree parts: %w", err)
	}
	*t = *out
	return nil
}

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrFormat)
}

// decodeHeader reads the SecretTree fields up to and including nodes.
func decodeHeader(r *codec.Reader) (*Tree, error) {
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
	t.id = t.newID()
	prev := int64(-1)
	r.Vector(func(r *codec.Reader) {
		x := r.Uint32()
		sec := r.Opaque()
		if r.Err() != nil {
			return
		}
		switch {
		case int64(x) <= prev:
			r.Fail(formatErr("node %d out of order", x))
		case !inTree(x, n):
			r.Fail(formatErr("node %d outside the tree", x))
		case len(sec) != s.Nh():
			r.Fail(formatErr("node %d secret of %d bytes", x, len(sec)))
		}
		prev = int64(x)
		t.nodes[x] = slices.Clone(sec)
	})
	if err := r.Err(); err != nil {
		return nil, asFormat(err)
	}
	return t, nil
}

// decodeLeaf reads one LeafRatchets record into t. A leaf already present
// is not replaced (the caller detects duplicates).
func (t *Tree) decodeLeaf(r *codec.Reader) (uint32, error) {
	leaf := r.Uint32()
	if err := r.Err(); err != nil {
		return 0, asFormat(err)
	}
	if leaf >= t.n {
		return leaf, formatErr("leaf %d out of range", leaf)
	}
	l := &leafRatchets{owner: t.id}
	for i := range l.r {
		if err := decodeRatchet(r, &l.r[i], t.suite.Nh(), t.suite.KeySize(), t.suite.NonceSize(), t.cfg.MaxRetained); err != nil {
			return leaf, asFormat(err)
		}
	}
	if _, dup := t.leaves[leaf]; !dup {
		t.leaves[leaf] = l
	}
	return leaf, nil
}

// finish checks that r is consumed and the tree consistent.
func (t *Tree) finish(r *codec.Reader) error {
	if err := r.Finish(); err != nil {
		return asFormat(err)
	}
	return t.checkShape()
}

// asFormat makes sure a decoding error wraps [ErrFormat].
func asFormat(err error) error {
	if errors.Is(err, ErrFormat) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrFormat, err)
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
	for leaf := range t.allLeaves() {
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
