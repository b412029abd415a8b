package tree

import (
	"bytes"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/internal/parallel"
	"github.com/mlsbackup/mlsbackup/engine/treemath"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// ApplyUpdatePath merges an UpdatePath received from sender into t
// (§7.5, §12.4.2). t must already reflect the commit's proposals. It checks,
// before changing anything, that the path has one node per node of the
// sender's filtered direct path, each with a valid HPKE public key, that the leaf's source is commit, that its
// parent_hash is the one the path implies, and that no new public key
// already occurs in the tree. Leaf-node validation (signature, capabilities,
// credential) is the caller's, with [ValidateLeafNode].
func (t *Tree) ApplyUpdatePath(sender LeafIndex, path *wire.UpdatePath) error {
	if err := t.checkLeaf(sender); err != nil {
		return fmt.Errorf("apply update path: %w", err)
	}
	steps := t.FilteredDirectPath(sender)
	if len(path.Nodes) != len(steps) {
		return fmt.Errorf("apply update path: %d nodes for a filtered direct path of %d: %w",
			len(path.Nodes), len(steps), ErrMalformed)
	}
	leaf := path.LeafNode
	if leaf.LeafNodeSource != wire.LeafNodeSourceCommit {
		return fmt.Errorf("apply update path: leaf source %d: %w", leaf.LeafNodeSource, ErrInvalidLeaf)
	}
	pubs := make([][]byte, len(steps))
	for i := range steps {
		pubs[i] = path.Nodes[i].EncryptionKey
		if err := t.cs.ValidatePublicKey(pubs[i]); err != nil {
			return fmt.Errorf("apply update path: node %d: %w: %w", steps[i].Node, ErrMalformed, err)
		}
	}
	if err := t.checkFreshKeys(sender, leaf.EncryptionKey, pubs); err != nil {
		return fmt.Errorf("apply update path: %w", err)
	}
	phs, leafPH := t.pathParentHashes(steps, pubs)
	if !bytes.Equal(leaf.ParentHash, leafPH) {
		return fmt.Errorf("apply update path: leaf parent hash: %w", ErrParentHash)
	}
	if err := t.BlankPath(sender); err != nil {
		return err
	}
	for i, s := range steps {
		t.setNode(s.Node, parentNode(&wire.ParentNode{
			EncryptionKey:  pubs[i],
			ParentHash:     phs[i],
			UnmergedLeaves: []uint32{},
		}))
	}
	t.setNode(sender.Node(), leafNode(&leaf))
	return nil
}

// checkFreshKeys checks that the new leaf key and path keys are distinct
// from each other and from every encryption key in the tree.
func (t *Tree) checkFreshKeys(sender LeafIndex, leafKey []byte, pubs [][]byte) error {
	all := append([][]byte{leafKey}, pubs...)
	for i, k := range all {
		if t.HasEncryptionKey(k) {
			return fmt.Errorf("encryption key %d of the path is in the tree: %w", i, ErrDuplicateKey)
		}
		for _, o := range all[:i] {
			if bytes.Equal(k, o) {
				return fmt.Errorf("encryption key %d of the path repeats: %w", i, ErrDuplicateKey)
			}
		}
	}
	return nil
}

// Decrypted is the outcome of processing an UpdatePath as a receiver.
type Decrypted struct {
	// Keys is the receiver's private state after the commit.
	Keys *PrivateKeys
	// CommitSecret is the commit_secret for the key schedule.
	CommitSecret []byte
	// Node is the node whose path secret was decrypted, and PathSecret
	// that secret. Callers should not keep it (§9.2).
	Node       NodeIndex
	PathSecret []byte
}

// DecryptPath processes an UpdatePath from sender that [Tree.ApplyUpdatePath]
// has merged into t (§7.5): using keys, the receiver's private state, it
// decrypts the path secret encrypted to the resolution of the copath child
// above the receiver, derives the secrets of the nodes up to the root,
// checks that their public keys match the path, and derives the commit
// secret. A path secret that is not Nh bytes long is malformed. exclude
// lists the leaves added by the commit and groupContext is the encoded
// provisional GroupContext. keys is not modified.
func (t *Tree) DecryptPath(keys *PrivateKeys, sender LeafIndex, path *wire.UpdatePath, exclude []LeafIndex, groupContext []byte) (*Decrypted, error) {
	me := keys.Leaf()
	if me == sender {
		return nil, fmt.Errorf("decrypt path: own update path: %w", ErrMalformed)
	}
	steps := t.FilteredDirectPath(sender)
	if len(path.Nodes) != len(steps) {
		return nil, fmt.Errorf("decrypt path: %d nodes for a filtered direct path of %d: %w",
			len(path.Nodes), len(steps), ErrMalformed)
	}
	ca := treemath.CommonAncestor(sender.Node(), me.Node())
	i := -1
	for k, s := range steps {
		if s.Node == ca {
			i = k
			break
		}
	}
	if i < 0 {
		return nil, fmt.Errorf("decrypt path: common ancestor %d not on the filtered path: %w", ca, ErrNoPrivateKey)
	}
	res := t.Resolution(steps[i].Copath, exclude)
	cts := path.Nodes[i].EncryptedPathSecret
	if len(cts) != len(res) {
		return nil, fmt.Errorf("decrypt path: %d ciphertexts for a resolution of %d: %w", len(cts), len(res), ErrMalformed)
	}
	j := -1
	var kp KeyPair
	for k, x := range res {
		if held, ok := keys.Key(x); ok && bytes.Equal(held.Pub, t.EncryptionKey(x)) {
			j, kp = k, held
			break
		}
	}
	if j < 0 {
		return nil, fmt.Errorf("decrypt path: node %d: %w", steps[i].Node, ErrNoPrivateKey)
	}
	secret, err := t.cs.DecryptWithLabel(kp.Priv, labelUpdatePathNode, groupContext, cts[j].KEMOutput, cts[j].Ciphertext)
	if err != nil {
		return nil, fmt.Errorf("decrypt path: node %d: %w", steps[i].Node, err)
	}
	if len(secret) != t.cs.Nh() {
		return nil, fmt.Errorf("decrypt path: node %d: path secret of %d bytes: %w", steps[i].Node, len(secret), ErrMalformed)
	}
	out := &Decrypted{Keys: keys.Clone(), Node: steps[i].Node, PathSecret: secret}
	for _, x := range t.DirectPath(sender) {
		delete(out.Keys.keys, x)
	}
	secrets := make([][]byte, len(steps)-i)
	secrets[0] = secret
	for k := 1; k < len(secrets); k++ {
		secrets[k] = t.cs.DeriveSecret(secrets[k-1], "path")
	}
	kps := make([]KeyPair, len(secrets))
	err = parallel.For(len(secrets), parallelDeriveMin, func(k int) error {
		step := steps[i+k]
		nkp, err := nodeKeyPair(t.cs, secrets[k])
		if err != nil {
			return fmt.Errorf("decrypt path: node %d: %w", step.Node, err)
		}
		if !bytes.Equal(nkp.Pub, path.Nodes[i+k].EncryptionKey) {
			return fmt.Errorf("decrypt path: node %d: %w", step.Node, ErrKeyMismatch)
		}
		kps[k] = nkp
		return nil
	})
	if err != nil {
		return nil, err
	}
	for k, nkp := range kps {
		out.Keys.SetKey(steps[i+k].Node, nkp)
	}
	out.CommitSecret = t.cs.DeriveSecret(secrets[len(secrets)-1], "path")
	return out, nil
}
