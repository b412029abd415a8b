package secrettree

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"

	"github.com/mlsbackup/mlsbackup/engine/suite"
)

// Sentinel errors of the package.
var (
	// ErrLeafRange means a leaf index is not below the tree's leaf count.
	ErrLeafRange = errors.New("secrettree: leaf index out of range")
	// ErrTooFarAhead means a generation lies more than Config.MaxForward
	// generations beyond the ratchet.
	ErrTooFarAhead = errors.New("secrettree: generation too far ahead")
	// ErrStale means a generation's key was already consumed or is no
	// longer retained.
	ErrStale = errors.New("secrettree: generation consumed or expired")
	// ErrExhausted means a ratchet has used all 2^32 generations.
	ErrExhausted = errors.New("secrettree: ratchet exhausted")
	// ErrConfig means a [Config] or leaf count is out of range.
	ErrConfig = errors.New("secrettree: invalid configuration")
	// ErrFormat means a serialized tree is malformed or inconsistent.
	ErrFormat = errors.New("secrettree: malformed encoding")
)

// GenerationError reports a generation outside the ratchet's bounds. It
// wraps [ErrTooFarAhead] or [ErrStale].
type GenerationError struct {
	Leaf       uint32
	Type       ContentType
	Generation uint32
	// Next is the ratchet's next underived generation.
	Next uint64
	Err  error
}

// Error implements error.
func (e *GenerationError) Error() string {
	return fmt.Sprintf("%v (leaf %d, %v ratchet, generation %d, next %d)", e.Err, e.Leaf, e.Type, e.Generation, e.Next)
}

// Unwrap returns the sentinel error.
func (e *GenerationError) Unwrap() error { return e.Err }

// ContentType selects one of a leaf's two ratchets.
type ContentType uint8

const (
	// Handshake is the ratchet for proposals and commits.
	Handshake ContentType = 0
	// Application is the ratchet for application messages.
	Application ContentType = 1
)

// String returns "handshake" or "application".
func (c ContentType) String() string {
	switch c {
	case Handshake:
		return "handshake"
	case Application:
		return "application"
	}
	return fmt.Sprintf("ContentType(%d)", uint8(c))
}

// Limits of the configuration and of the tree size.
const (
	// MaxLeaves is the largest leaf count a tree supports.
	MaxLeaves = 1 << 31
	// MaxRetainedLimit caps Config.MaxRetained.
	MaxRetainedLimit = 0xffff
)

// Config bounds out-of-order tolerance (RFC 9420 §9.2, §15.3).
type Config struct {
	// MaxForward is how many generations past its next one a ratchet
	// derives to serve a received message; farther is [ErrTooFarAhead].
	MaxForward uint32
	// MaxRetained is how many keys of skipped generations a ratchet keeps
	// for late messages; the oldest are dropped first.
	MaxRetained int
}

// DefaultConfig returns MaxForward 1024 and MaxRetained 64.
func DefaultConfig() Config { return Config{MaxForward: 1024, MaxRetained: 64} }

// Validate reports whether c is usable.
func (c Config) Validate() error {
	if c.MaxRetained < 0 || c.MaxRetained > MaxRetainedLimit {
		return fmt.Errorf("max retained %d: %w", c.MaxRetained, ErrConfig)
	}
	return nil
}

// Tree is the secret tree of one epoch. It is not safe for concurrent use.
type Tree struct {
	suite *suite.Suite
	cfg   Config
	n     uint32
	nodes map[uint32][]byte

	// The leaves with ratchets (absent until derived): recent overrides
	// leaves (see leaves.go).
	leaves map[uint32]*leafRatchets
	recent []leafEntry

	// The change set reported by TakeChanges: changed is ascending.
	headerChanged bool
	changed       []uint32

	// Copy on write (see Clone). sharedNodes, sharedLeaves, sharedRecent:
	// the nodes map, the leaves map or the recent slice are shared with
	// another tree and must be copied before any change (changed is
	// shared too, but always with its capacity cut to its length, so
	// that an insertion copies it). A leaf's ratchets change in place
	// only if their owner is id: Clone gives both trees new ids from
	// clock, which the trees cloned from one another share. cow: the node
	// secrets may be shared, so only the nodes in ownNodes (secrets this
	// tree created) are zeroed when deleted; a shared secret is dropped,
	// not zeroed, as the other tree still holds it. Without cow the tree
	// owns every node.
	sharedNodes  bool
	sharedLeaves bool
	sharedRecent bool
	cow          bool
	ownNodes     map[uint32]struct{}
	clock        *atomic.Uint64
	id           uint64
}

// New returns the secret tree of an epoch with leafCount leaves rooted at
// encryptionSecret (Nh bytes). The tree keeps its own copy of the secret.
func New(s *suite.Suite, encryptionSecret []byte, leafCount uint32, cfg Config) (*Tree, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if leafCount == 0 || leafCount > MaxLeaves {
		return nil, fmt.Errorf("leaf count %d: %w", leafCount, ErrConfig)
	}
	if len(encryptionSecret) != s.Nh() {
		return nil, fmt.Errorf("encryption secret of %d bytes: %w", len(encryptionSecret), ErrConfig)
	}
	t := &Tree{
		suite:  s,
		cfg:    cfg,
		n:      leafCount,
		nodes:  map[uint32][]byte{root(leafCount): slices.Clone(encryptionSecret)},
		leaves: map[uint32]*leafRatchets{},

		headerChanged: true,
	}
	t.id = t.newID()
	return t, nil
}

// Suite returns the tree's cipher suite.
func (t *Tree) Suite() *suite.Suite { return t.suite }

// LeafCount returns the number of leaves.
func (t *Tree) LeafCount() uint32 { return t.n }

// Config returns the tree's out-of-order bounds.
func (t *Tree) Config() Config { return t.cfg }

// SetConfig changes the out-of-order bounds, dropping the oldest retained
// keys beyond the new MaxRetained.
func (t *Tree) SetConfig(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	t.cfg = cfg
	t.headerChanged = true
	t.fold()
	for i, l := range t.leaves {
		if len(l.r[0].retained) > cfg.MaxRetained || len(l.r[1].retained) > cfg.MaxRetained {
			l = t.writableLeaf(i)
			l.r[0].trim(cfg.MaxRetained)
			l.r[1].trim(cfg.MaxRetained)
			t.markChanged(i)
		}
	}
	return nil
}

// Clone returns a copy of the tree. It costs O(1): the copy and t share
// their memory until either changes it, and each then copies only what it
// changes (a leaf's ratchets, the maps). Neither may be used concurrently
// with the other, as Clone itself marks t as sharing.
func (t *Tree) Clone() *Tree {
	t.sharedNodes, t.sharedLeaves, t.cow, t.ownNodes = true, true, true, nil
	t.recent = t.recent[:len(t.recent):len(t.recent)]
	t.sharedRecent = len(t.recent) > 0
	t.changed = t.changed[:len(t.changed):len(t.changed)]
	t.id = t.newID() // t no longer owns the ratchets it shares
	c := *t
	c.id = t.newID()
	return &c
}

// unshareNodes gives t a nodes map of its own before it changes it.
func (t *Tree) unshareNodes() {
	if t.sharedNodes {
		t.nodes, t.sharedNodes = maps.Clone(t.nodes), false
	}
}

// ownsNode reports whether the secret of node x is t's alone to zero.
func (t *Tree) ownsNode(x uint32) bool {
	if !t.cow {
		return true
	}
	_, ok := t.ownNodes[x]
	return ok
}

// setNode stores a secret t created for node x.
func (t *Tree) setNode(x uint32, secret []byte) {
	t.nodes[x] = secret
	if t.cow {
		if t.ownNodes == nil {
			t.ownNodes = map[uint32]struct{}{}
		}
		t.ownNodes[x] = struct{}{}
	}
}

// leafSecret returns the secret of leaf's node derived from its nearest
// stored ancestor. With store, the derivation is recorded: each ancestor's
// secret is replaced by its children's and the leaf's own secret is
// returned and removed from the tree. Without store, the tree is unchanged.
// The leaf must not yet have ratchets.
func (t *Tree) leafSecret(leaf uint32, store bool) ([]byte, error) {
	target := 2 * leaf
	p := path(t.n, target)
	start := -1
	for i, x := range p {
		if _, ok := t.nodes[x]; ok {
			start = i
			break
		}
	}
	if start < 0 {
		return nil, fmt.Errorf("leaf %d has neither ratchets nor a stored ancestor: %w", leaf, ErrFormat)
	}
	nh := t.suite.Nh()
	secret := t.nodes[p[start]]
	owned := false // whether secret may be zeroed once used
	if store {
		t.unshareNodes()
		owned = t.ownsNode(p[start])
		delete(t.nodes, p[start])
		delete(t.ownNodes, p[start])
		if !owned && start == len(p)-1 {
			// The leaf's own secret, returned for the caller to zero:
			// another tree still holds this one.
			secret = slices.Clone(secret)
		}
	}
	for i := start; i+1 < len(p); i++ {
		parent, child := p[i], p[i+1]
		l := t.suite.ExpandWithLabel(secret, "tree", []byte("left"), nh)
		r := t.suite.ExpandWithLabel(secret, "tree", []byte("right"), nh)
		if owned || i > start { // a derived temporary or a secret we own
			clear(secret)
		}
		sib, other := right(parent), r
		if child != left(parent) {
			secret, sib, other = r, left(parent), l
		} else {
			secret = l
		}
		// In a tree whose leaf count is not a power of two, a sibling may
		// cover no leaf at all; its secret is never needed.
		if store && leavesUnder(sib, t.n) > 0 {
			t.setNode(sib, other)
		} else {
			clear(other)
		}
	}
	return secret, nil
}
