package tree

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/treemath"
)

// KeyPair is an HPKE key pair: the private key in SerializePrivateKey form
// and the public key it belongs to.
type KeyPair struct {
	Priv []byte
	Pub  []byte
}

// PrivateKeys holds the HPKE private keys a member knows: the key of its
// own leaf and the keys of nodes on its direct path (§4.2). It has a binary
// encoding ([PrivateKeys.MarshalTLS]) so the group layer can persist it.
// Path secrets are never kept (§9.2).
type PrivateKeys struct {
	leaf LeafIndex
	keys map[NodeIndex]KeyPair
}

// NewPrivateKeys returns the private state of the member at leaf holding
// the leaf key pair kp.
func NewPrivateKeys(leaf LeafIndex, kp KeyPair) *PrivateKeys {
	return &PrivateKeys{leaf: leaf, keys: map[NodeIndex]KeyPair{leaf.Node(): kp}}
}

// Leaf returns the member's leaf index.
func (p *PrivateKeys) Leaf() LeafIndex { return p.leaf }

// Key returns the key pair held for node x.
func (p *PrivateKeys) Key(x NodeIndex) (KeyPair, bool) {
	kp, ok := p.keys[x]
	return kp, ok
}

// Nodes returns the nodes for which a key is held, ascending.
func (p *PrivateKeys) Nodes() []NodeIndex {
	return slices.Sorted(maps.Keys(p.keys))
}

// Clone returns a copy that can be changed independently.
func (p *PrivateKeys) Clone() *PrivateKeys {
	return &PrivateKeys{leaf: p.leaf, keys: maps.Clone(p.keys)}
}

// SetKey stores kp for node x.
func (p *PrivateKeys) SetKey(x NodeIndex, kp KeyPair) { p.keys[x] = kp }

// SetPathSecret derives the key pair of node x from its path secret
// (node_secret = DeriveSecret(path_secret, "node"), §7.4) and stores it.
func (p *PrivateKeys) SetPathSecret(cs *suite.Suite, x NodeIndex, pathSecret []byte) error {
	kp, err := nodeKeyPair(cs, pathSecret)
	if err != nil {
		return fmt.Errorf("node %d: %w", x, err)
	}
	p.keys[x] = kp
	return nil
}

// nodeKeyPair derives a node's key pair from its path secret.
func nodeKeyPair(cs *suite.Suite, pathSecret []byte) (KeyPair, error) {
	priv, pub, err := cs.DeriveKeyPair(cs.DeriveSecret(pathSecret, "node"))
	if err != nil {
		return KeyPair{}, err
	}
	return KeyPair{Priv: priv, Pub: pub}, nil
}

// ImportPathSecret installs the path secret a joiner receives in a Welcome
// (§12.4.3.1): pathSecret belongs to the lowest common ancestor of the
// member's leaf and the committer's leaf; each further non-blank node up to
// the root gets the next path secret. It must be Nh bytes long, as every
// path secret is. Every derived public key must match the tree.
func (p *PrivateKeys) ImportPathSecret(cs *suite.Suite, t *Tree, committer LeafIndex, pathSecret []byte) error {
	if len(pathSecret) != cs.Nh() {
		return fmt.Errorf("import path secret of %d bytes: %w", len(pathSecret), ErrMalformed)
	}
	ca := treemath.CommonAncestor(p.leaf.Node(), committer.Node())
	nodes := append([]NodeIndex{ca}, treemath.DirectPath(ca, t.NumLeaves())...)
	secret := pathSecret
	first := true
	for _, x := range nodes {
		if t.IsBlank(x) {
			if first {
				return fmt.Errorf("import path secret: node %d: %w", x, ErrBlank)
			}
			continue
		}
		if !first {
			secret = cs.DeriveSecret(secret, "path")
		}
		first = false
		kp, err := nodeKeyPair(cs, secret)
		if err != nil {
			return fmt.Errorf("import path secret: node %d: %w", x, err)
		}
		if !bytes.Equal(kp.Pub, t.EncryptionKey(x)) {
			return fmt.Errorf("import path secret: node %d: %w", x, ErrKeyMismatch)
		}
		p.keys[x] = kp
	}
	return nil
}

// CheckConsistent verifies that every key held matches a non-blank node of
// t holding its public key, and that the member's leaf key is held.
func (p *PrivateKeys) CheckConsistent(t *Tree) error {
	if _, ok := p.keys[p.leaf.Node()]; !ok {
		return fmt.Errorf("leaf %d: no leaf key: %w", p.leaf, ErrNoPrivateKey)
	}
	for _, x := range p.Nodes() {
		pub := t.EncryptionKey(x)
		if pub == nil {
			return fmt.Errorf("private key for node %d: %w", x, ErrBlank)
		}
		if !bytes.Equal(pub, p.keys[x].Pub) {
			return fmt.Errorf("private key for node %d: %w", x, ErrKeyMismatch)
		}
	}
	return nil
}

// Prune drops every key that no longer matches t (its node was blanked or
// replaced, or lies outside the tree). Call it after applying proposals.
func (p *PrivateKeys) Prune(t *Tree) {
	for x, kp := range p.keys {
		if !bytes.Equal(t.EncryptionKey(x), kp.Pub) {
			delete(p.keys, x)
		}
	}
}

// MarshalTLS implements [codec.Marshaler]: uint32 leaf followed by a vector
// of {uint32 node; opaque priv<V>; opaque pub<V>} in node order.
func (p *PrivateKeys) MarshalTLS(w *codec.Writer) {
	w.Uint32(uint32(p.leaf))
	w.Vector(func(w *codec.Writer) {
		for _, x := range p.Nodes() {
			w.Uint32(uint32(x))
			w.Opaque(p.keys[x].Priv)
			w.Opaque(p.keys[x].Pub)
		}
	})
}

// UnmarshalTLS implements [codec.Unmarshaler]. Nodes must be ascending and
// the decoded slices are copied, so the input may be reused.
func (p *PrivateKeys) UnmarshalTLS(r *codec.Reader) {
	p.leaf = LeafIndex(r.Uint32())
	p.keys = make(map[NodeIndex]KeyPair)
	last := int64(-1)
	r.Vector(func(r *codec.Reader) {
		x := r.Uint32()
		kp := KeyPair{Priv: bytes.Clone(r.Opaque()), Pub: bytes.Clone(r.Opaque())}
		if r.Err() != nil {
			return
		}
		if int64(x) <= last {
			r.Fail(fmt.Errorf("%w: private key nodes not ascending", codec.ErrInvalid))
			return
		}
		last = int64(x)
		p.keys[NodeIndex(x)] = kp
	})
}
