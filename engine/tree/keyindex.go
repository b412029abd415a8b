package tree

import (
	"maps"
	"slices"

	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// index summarizes the tree for the checks of §7.3 and §12.4.2 that would
// otherwise scan every node: how many nodes hold each encryption key, how
// many leaves hold each signature key, and per credential type how many
// members use it and how many list it in their capabilities. It is built
// lazily on the first query. The key map (base) is shared read-only between
// clones; each tree records its own key changes in delta, which is folded
// into a new base once it grows, so a change costs O(1) amortized and a
// clone O(len(delta)).
type index struct {
	built   bool
	base    map[string]int
	delta   map[string]int
	members int
	credUse map[wire.CredentialType]int
	credSup map[wire.CredentialType]int
}

// Key kinds, prefixed to the key bytes in the index.
const (
	kindEncryption = 'e'
	kindSignature  = 's'
)

func indexKey(kind byte, key []byte) string {
	b := make([]byte, 0, 1+len(key))
	b = append(b, kind)
	return string(append(b, key...))
}

// nodeKeys calls fn with the index keys of n.
func nodeKeys(n *wire.Node, fn func(string)) {
	switch {
	case n == nil:
	case n.Leaf != nil:
		fn(indexKey(kindEncryption, n.Leaf.EncryptionKey))
		fn(indexKey(kindSignature, n.Leaf.SignatureKey))
	case n.Parent != nil:
		fn(indexKey(kindEncryption, n.Parent.EncryptionKey))
	}
}

func (k *index) clone() index {
	c := *k
	c.delta = maps.Clone(k.delta)
	c.credUse = maps.Clone(k.credUse)
	c.credSup = maps.Clone(k.credSup)
	return c
}

func (k *index) add(n *wire.Node)    { k.change(n, 1) }
func (k *index) remove(n *wire.Node) { k.change(n, -1) }

// countLeaf adds d to the member and credential counts for leaf.
func (k *index) countLeaf(leaf *wire.LeafNode, d int) {
	k.members += d
	bump(k.credUse, leaf.Credential.CredentialType, d)
	for _, c := range dedup(leaf.Capabilities.Credentials) {
		bump(k.credSup, c, d)
	}
}

func bump[K comparable](m map[K]int, key K, d int) {
	if v := m[key] + d; v != 0 {
		m[key] = v
	} else {
		delete(m, key)
	}
}

// dedup returns the distinct values of s (capabilities lists are short).
func dedup[T comparable](s []T) []T {
	out := make([]T, 0, len(s))
	for _, v := range s {
		seen := false
		for _, o := range out {
			if o == v {
				seen = true
				break
			}
		}
		if !seen {
			out = append(out, v)
		}
	}
	return out
}

func (k *index) change(n *wire.Node, d int) {
	if !k.built || n == nil {
		return
	}
	if n.Leaf != nil {
		k.countLeaf(n.Leaf, d)
	}
	if k.delta == nil {
		k.delta = make(map[string]int)
	}
	nodeKeys(n, func(s string) { bump(k.delta, s, d) })
	// Folding costs O(len(base)) and a clone O(len(delta)); a threshold
	// of about sqrt(32·len(base)) balances the two per commit.
	if len(k.delta) > 64+isqrt(32*len(k.base)) {
		nb := make(map[string]int, len(k.base)+len(k.delta))
		maps.Copy(nb, k.base)
		for s, v := range k.delta {
			bump(nb, s, v)
		}
		k.base, k.delta = nb, nil
	}
}

// idx returns the tree's index, building it on first use.
func (t *Tree) idx() *index {
	if !t.keys.built {
		k := index{
			built:   true,
			base:    make(map[string]int, t.st.len()*3/2),
			credUse: make(map[wire.CredentialType]int),
			credSup: make(map[wire.CredentialType]int),
		}
		for i := 0; i < t.st.len(); i++ {
			n := t.st.at(NodeIndex(i)).node
			nodeKeys(n, func(s string) { k.base[s]++ })
			if n != nil && n.Leaf != nil {
				k.countLeaf(n.Leaf, 1)
			}
		}
		t.keys = k
	}
	return &t.keys
}

// keyCount returns how many nodes hold key of the given kind.
func (t *Tree) keyCount(kind byte, key []byte) int {
	k := t.idx()
	s := indexKey(kind, key)
	return k.base[s] + k.delta[s]
}

// HasEncryptionKey reports whether some node of the tree holds the HPKE
// public key key.
func (t *Tree) HasEncryptionKey(key []byte) bool { return t.keyCount(kindEncryption, key) > 0 }

// HasSignatureKey reports whether some leaf of the tree holds the
// signature public key key.
func (t *Tree) HasSignatureKey(key []byte) bool { return t.keyCount(kindSignature, key) > 0 }

// CredentialTypesInUse returns the credential types of the current members.
func (t *Tree) CredentialTypesInUse() []wire.CredentialType {
	return slices.Sorted(maps.Keys(t.idx().credUse))
}

// isqrt returns floor(sqrt(n)) for n >= 0.
func isqrt(n int) int {
	r := 0
	for bit := 1 << 30; bit > 0; bit >>= 2 {
		if r+bit <= n {
			n -= r + bit
			r = r>>1 + bit
		} else {
			r >>= 1
		}
	}
	return r
}
