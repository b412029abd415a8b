package secrettree

import (
	"fmt"
	"slices"

	"github.com/mlsbackup/mlsbackup/engine/suite"
)

// exhausted is the next generation of a ratchet that has used generation
// 2^32-1.
const exhausted = 1 << 32

// ratchet is one hash ratchet (RFC 9420 §9.1): the secret of generation
// next, plus keys of skipped generations kept for late messages.
type ratchet struct {
	next     uint64
	secret   []byte // nil iff next == exhausted
	retained []retainedKey
	// sharedSecret: another tree holds secret too, so it is dropped, not
	// zeroed, when replaced or wiped.
	sharedSecret bool
	// res, if set, is the ratchet's reservation (see [Tree.Reserve]): the
	// encoding holds res instead of next and secret, and res.next > next.
	res *reservation
	// sharedRes: another tree holds res too (see sharedSecret).
	sharedRes bool
}

// reservation is the state a ratchet's encoding holds while generations
// [ratchet.next, reservation.next) are reserved for the sender in memory:
// the same ratchet advanced to generation next. It is never changed, only
// replaced.
type reservation struct {
	next   uint64
	secret []byte
}

// retainedKey is the key and nonce of one skipped generation.
type retainedKey struct {
	gen   uint32
	key   []byte
	nonce []byte
}

// share returns a copy of r for another tree: it shares r's secret
// (marked shared) and copies the retained keys.
func (r *ratchet) share() ratchet {
	c := ratchet{next: r.next, secret: r.secret, sharedSecret: r.secret != nil, res: r.res, sharedRes: r.res != nil}
	if len(r.retained) > 0 {
		c.retained = make([]retainedKey, len(r.retained))
		for i, k := range r.retained {
			c.retained[i] = retainedKey{gen: k.gen, key: slices.Clone(k.key), nonce: slices.Clone(k.nonce)}
		}
	}
	return c
}

func (r *ratchet) wipe() {
	if !r.sharedSecret {
		clear(r.secret)
	}
	for _, k := range r.retained {
		clear(k.key)
		clear(k.nonce)
	}
	r.dropReservation()
	r.secret, r.retained, r.sharedSecret = nil, nil, false
}

// dropReservation forgets r's reservation, zeroing its secret unless
// another tree holds it.
func (r *ratchet) dropReservation() {
	if r.res != nil && !r.sharedRes {
		clear(r.res.secret)
	}
	r.res, r.sharedRes = nil, false
}

// settle drops r's reservation once the ratchet itself has reached it:
// the encoding then holds the ratchet again. It reports whether the
// encoding changed (the ratchet went past the reservation).
func (r *ratchet) settle() bool {
	if r.res == nil || r.next < r.res.next {
		return false
	}
	past := r.next > r.res.next
	r.dropReservation()
	return past
}

// stored returns the generation and secret r's encoding holds.
func (r *ratchet) stored() (uint64, []byte) {
	if r.res != nil {
		return r.res.next, r.res.secret
	}
	return r.next, r.secret
}

// keyNonce derives the key and nonce of generation gen from its secret.
func keyNonce(s *suite.Suite, secret []byte, gen uint32) (key, nonce []byte) {
	return s.DeriveTreeSecret(secret, "key", gen, s.KeySize()),
		s.DeriveTreeSecret(secret, "nonce", gen, s.NonceSize())
}

// advance returns the secret of generation gen+1 from that of gen.
func advance(s *suite.Suite, secret []byte, gen uint32) []byte {
	return s.DeriveTreeSecret(secret, "secret", gen, s.Nh())
}

// find returns the index of gen in r.retained, or -1.
func (r *ratchet) find(gen uint32) int {
	i, ok := slices.BinarySearchFunc(r.retained, gen, func(k retainedKey, g uint32) int {
		switch {
		case k.gen < g:
			return -1
		case k.gen > g:
			return 1
		}
		return 0
	})
	if !ok {
		return -1
	}
	return i
}

// check returns nil if gen can be served under cfg.
func (r *ratchet) check(cfg Config, gen uint32) error {
	g := uint64(gen)
	switch {
	case g < r.next:
		if r.find(gen) < 0 {
			return ErrStale
		}
	case g-r.next > uint64(cfg.MaxForward):
		return ErrTooFarAhead
	}
	return nil
}

// peek derives the key and nonce of gen without changing r. check must
// have passed.
func (r *ratchet) peek(s *suite.Suite, gen uint32) (key, nonce []byte) {
	if uint64(gen) < r.next {
		k := r.retained[r.find(gen)]
		return slices.Clone(k.key), slices.Clone(k.nonce)
	}
	secret := r.secret
	for g := uint32(r.next); g < gen; g++ {
		next := advance(s, secret, g)
		if g != uint32(r.next) {
			clear(secret)
		}
		secret = next
	}
	key, nonce = keyNonce(s, secret, gen)
	if uint64(gen) != r.next {
		clear(secret)
	}
	return key, nonce
}

// consume returns the key and nonce of gen (if want; nil otherwise, and
// they are then not derived) and deletes them from r, ratcheting forward
// past gen and retaining the keys of the last cfg.MaxRetained skipped
// generations. check must have passed.
func (r *ratchet) consume(s *suite.Suite, cfg Config, gen uint32, want bool) (key, nonce []byte) {
	if uint64(gen) < r.next {
		i := r.find(gen)
		k := r.retained[i]
		r.retained = slices.Delete(r.retained, i, i+1)
		if !want {
			clear(k.key)
			clear(k.nonce)
			return nil, nil
		}
		return k.key, k.nonce
	}
	for g := uint32(r.next); g < gen; g++ {
		if int64(gen)-int64(g) <= int64(cfg.MaxRetained) {
			k, n := keyNonce(s, r.secret, g)
			r.retained = append(r.retained, retainedKey{gen: g, key: k, nonce: n})
		}
		r.step(s, g)
	}
	if want {
		key, nonce = keyNonce(s, r.secret, gen)
	}
	r.step(s, gen)
	r.trim(cfg.MaxRetained)
	return key, nonce
}

// step replaces the secret of generation gen (== r.next) by that of gen+1.
func (r *ratchet) step(s *suite.Suite, gen uint32) {
	old := r.secret
	if gen == 1<<32-1 {
		r.secret = nil
	} else {
		r.secret = advance(s, old, gen)
	}
	if !r.sharedSecret {
		clear(old)
	}
	r.sharedSecret = false
	r.next = uint64(gen) + 1
}

// trim drops the oldest retained keys beyond max.
func (r *ratchet) trim(max int) {
	if extra := len(r.retained) - max; extra > 0 {
		for _, k := range r.retained[:extra] {
			clear(k.key)
			clear(k.nonce)
		}
		r.retained = slices.Delete(r.retained, 0, extra)
	}
}

// ratchetFor returns leaf's ratchet for ct. With store, a leaf without
// ratchets gets them (deriving along its path); without store the tree is
// unchanged and a temporary ratchet may be returned, which the caller must
// not modify.
func (t *Tree) ratchetFor(leaf uint32, ct ContentType, store bool) (*ratchet, error) {
	if leaf >= t.n {
		return nil, fmt.Errorf("leaf %d of %d: %w", leaf, t.n, ErrLeafRange)
	}
	if ct != Handshake && ct != Application {
		return nil, fmt.Errorf("content type %d: %w", ct, ErrConfig)
	}
	if l := t.leaf(leaf); l != nil {
		if store {
			l = t.writableLeaf(leaf)
		}
		return &l.r[ct], nil
	}
	ls, err := t.leafSecret(leaf, store)
	if err != nil {
		return nil, err
	}
	nh := t.suite.Nh()
	l := &leafRatchets{r: [2]ratchet{
		{secret: t.suite.ExpandWithLabel(ls, "handshake", nil, nh)},
		{secret: t.suite.ExpandWithLabel(ls, "application", nil, nh)},
	}, owner: t.id}
	if store {
		clear(ls)
		t.putLeaf(leaf, l)
		t.headerChanged = true
		t.markChanged(leaf)
	}
	return &l.r[ct], nil
}

func (t *Tree) genError(leaf uint32, ct ContentType, gen uint32, r *ratchet, err error) error {
	return &GenerationError{Leaf: leaf, Type: ct, Generation: gen, Next: r.next, Err: err}
}

// Peek returns the key and nonce of generation gen of leaf's ratchet for
// ct without changing the tree, so a message can be authenticated before
// its key is consumed with [Tree.KeyNonce] or [Tree.Consume]. A generation
// outside the bounds returns a [*GenerationError].
func (t *Tree) Peek(leaf uint32, ct ContentType, gen uint32) (key, nonce []byte, err error) {
	r, err := t.ratchetFor(leaf, ct, false)
	if err != nil {
		return nil, nil, err
	}
	if err := r.check(t.cfg, gen); err != nil {
		return nil, nil, t.genError(leaf, ct, gen, r, err)
	}
	key, nonce = r.peek(t.suite, gen)
	return key, nonce, nil
}

// KeyNonce returns the key and nonce of generation gen of leaf's ratchet
// for ct and deletes them (RFC 9420 §9.2): ratchets forward past gen if
// needed, retaining skipped keys per [Config]. A generation outside the
// bounds returns a [*GenerationError] and leaves the tree unchanged.
func (t *Tree) KeyNonce(leaf uint32, ct ContentType, gen uint32) (key, nonce []byte, err error) {
	return t.consume(leaf, ct, gen, true)
}

// consume is [Tree.KeyNonce]; without want the key and nonce of gen are
// deleted without being derived.
func (t *Tree) consume(leaf uint32, ct ContentType, gen uint32, want bool) (key, nonce []byte, err error) {
	if leaf < t.n && !t.hasLeaf(leaf) && uint64(gen) > uint64(t.cfg.MaxForward) {
		return nil, nil, &GenerationError{Leaf: leaf, Type: ct, Generation: gen, Err: ErrTooFarAhead}
	}
	r, err := t.ratchetFor(leaf, ct, true)
	if err != nil {
		return nil, nil, err
	}
	if err := r.check(t.cfg, gen); err != nil {
		return nil, nil, t.genError(leaf, ct, gen, r, err)
	}
	key, nonce = r.consume(t.suite, t.cfg, gen, want)
	r.settle()
	t.markChanged(leaf)
	return key, nonce, nil
}

// Consume deletes the key of generation gen as [Tree.KeyNonce] does,
// without deriving or returning it: a receiver that got the key from
// [Tree.Peek] consumes it after authenticating the message at the cost of
// one derivation (the next ratchet secret), not three.
func (t *Tree) Consume(leaf uint32, ct ContentType, gen uint32) error {
	_, _, err := t.consume(leaf, ct, gen, false)
	return err
}

// Next returns the next generation of leaf's ratchet for ct with its key
// and nonce, and advances the ratchet: the sender's side of §9.1.
func (t *Tree) Next(leaf uint32, ct ContentType) (gen uint32, key, nonce []byte, err error) {
	r, err := t.ratchetFor(leaf, ct, true)
	if err != nil {
		return 0, nil, nil, err
	}
	if r.next >= exhausted {
		return 0, nil, nil, fmt.Errorf("leaf %d %v ratchet: %w", leaf, ct, ErrExhausted)
	}
	gen = uint32(r.next)
	key, nonce = keyNonce(t.suite, r.secret, gen)
	r.step(t.suite, gen)
	if r.res == nil || r.settle() {
		// Without a reservation the encoding holds the ratchet itself.
		t.markChanged(leaf)
	}
	return gen, key, nonce, nil
}

// DeriveLeaf derives leaf's ratchets now if it has none (RFC 9420 §9.2:
// the secrets of the nodes above it are replaced by those of their other
// children), so that no stored node secret lies on its path. The change
// set of [Tree.TakeChanges] then reports the header and the leaf.
func (t *Tree) DeriveLeaf(leaf uint32) error {
	if leaf < t.n && t.hasLeaf(leaf) {
		return nil
	}
	_, err := t.ratchetFor(leaf, Application, true)
	return err
}

// Reserve reserves the generations of leaf's ratchet for ct below until
// for the sender, deriving the leaf's ratchets if it has none yet (RFC
// 9420 §9.2: its ancestors' secrets are then replaced by their other
// children's): from now on the tree's encoding ([Tree.MarshalLeaf],
// [Tree.MarshalBinary]) holds the ratchet advanced to until, while
// [Tree.Next] keeps serving the reserved generations from memory. What is
// stored therefore never yields the key of a generation the sender may
// have used, and a tree decoded from it resumes past every reserved
// generation: a crash loses the unused ones. It costs one derivation per
// generation reserved; it does nothing if the ratchet or its reservation
// is already at until or beyond. The change set of [Tree.TakeChanges]
// reports the leaf (and the header, if the leaf's ratchets were derived).
func (t *Tree) Reserve(leaf uint32, ct ContentType, until uint32) error {
	r, err := t.ratchetFor(leaf, ct, true)
	if err != nil {
		return err
	}
	from, secret := r.stored()
	if uint64(until) <= from {
		return nil
	}
	s := secret
	for g := uint32(from); g < until; g++ {
		next := advance(t.suite, s, g)
		if g != uint32(from) {
			clear(s)
		}
		s = next
	}
	r.dropReservation()
	r.res = &reservation{next: uint64(until), secret: s}
	t.markChanged(leaf)
	return nil
}

// AdvanceTo ratchets leaf's ratchet for ct forward so that its next
// generation is at least gen, deleting the keys in between without
// retaining them. A sender uses it after a crash to skip generations it may
// already have used. It does nothing if the ratchet is already there. The
// cost is one derivation per skipped generation.
func (t *Tree) AdvanceTo(leaf uint32, ct ContentType, gen uint32) error {
	r, err := t.ratchetFor(leaf, ct, true)
	if err != nil {
		return err
	}
	if r.next < uint64(gen) {
		t.markChanged(leaf)
	}
	for r.next < uint64(gen) {
		r.step(t.suite, uint32(r.next))
	}
	r.settle()
	return nil
}

// Generation returns the next underived generation of leaf's ratchet for
// ct (2^32 once exhausted).
func (t *Tree) Generation(leaf uint32, ct ContentType) (uint64, error) {
	if leaf < t.n && !t.hasLeaf(leaf) {
		return 0, nil
	}
	r, err := t.ratchetFor(leaf, ct, false)
	if err != nil {
		return 0, err
	}
	return r.next, nil
}

// Wipe zeroes every secret in the tree and empties it; the tree is
// unusable afterwards. Call it when the epoch ends.
func (t *Tree) Wipe() {
	for x, v := range t.nodes {
		if t.ownsNode(x) {
			clear(v)
		}
	}
	for _, l := range t.allLeaves() {
		if l.owner == t.id {
			l.r[0].wipe()
			l.r[1].wipe()
		}
	}
	t.nodes, t.leaves, t.recent, t.changed = map[uint32][]byte{}, map[uint32]*leafRatchets{}, nil, nil
	t.sharedNodes, t.sharedLeaves, t.sharedRecent, t.ownNodes = false, false, false, nil
	t.headerChanged = false
	t.n = 0
}
