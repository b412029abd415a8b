package tree

import (
	"crypto/rand"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/internal/parallel"
	"github.com/mlsbackup/mlsbackup/engine/treemath"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// Labels of RFC 9420 used by TreeKEM.
const (
	labelUpdatePathNode = "UpdatePathNode"
	labelLeafNodeTBS    = "LeafNodeTBS"
)

// Loop sizes from which the HPKE encryptions and the key derivations of an
// UpdatePath are spread over all CPUs.
const (
	parallelSealMin   = 4
	parallelDeriveMin = 4
)

// PathParams describes an UpdatePath to create with [Tree.CreateUpdatePath].
type PathParams struct {
	// Sender is the committer's leaf. It must be inside the tree.
	Sender LeafIndex
	// Leaf is the template of the committer's new leaf node: its signature
	// key, credential, capabilities and extensions are kept; encryption
	// key, source, lifetime, parent hash and signature are replaced.
	Leaf *wire.LeafNode
	// SignaturePriv is the committer's signature private key.
	SignaturePriv []byte
	// GroupID is the group's id, signed in the LeafNodeTBS.
	GroupID []byte
	// Exclude lists the leaves added by the commit, whose members receive
	// the path secret in their Welcome instead (§7.6).
	Exclude []LeafIndex
	// GroupContext returns the encoded provisional GroupContext for the
	// tree hash of the updated tree; it is the HPKE context (§12.4.1).
	GroupContext func(treeHash []byte) ([]byte, error)
	// LeafSecret, if set, seeds the leaf key and path secrets; otherwise
	// Nh random bytes are used. Tests only.
	LeafSecret []byte
}

// PathResult is the outcome of creating an UpdatePath.
type PathResult struct {
	// Path is the UpdatePath to put in the Commit.
	Path *wire.UpdatePath
	// CommitSecret is the commit_secret for the key schedule.
	CommitSecret []byte
	// Keys is the committer's private state after the update.
	Keys *PrivateKeys
	// GroupContext is the encoded provisional group context used.
	GroupContext []byte

	sender  LeafIndex
	steps   []PathStep
	secrets [][]byte
}

// PathSecretFor returns the path secret a member newly added at leaf l
// receives in its Welcome: the one of the lowest common ancestor of l and
// the committer (§12.4.3.1).
func (r *PathResult) PathSecretFor(l LeafIndex) ([]byte, bool) {
	ca := treemath.CommonAncestor(r.sender.Node(), l.Node())
	for i, s := range r.steps {
		if s.Node == ca {
			return r.secrets[i], true
		}
	}
	return nil, false
}

// CreateUpdatePath refreshes the committer's leaf and direct path in t
// (§7.4, §7.5): it blanks the direct path, derives fresh path secrets and
// key pairs for the filtered direct path, sets parent hashes, signs the new
// leaf, and encrypts each path secret to the resolution of its copath child
// under the provisional group context. t must already reflect the commit's
// proposals; it is modified in place (work on a [Tree.Clone] to stage a
// commit).
func (t *Tree) CreateUpdatePath(p PathParams) (*PathResult, error) {
	if err := t.checkLeaf(p.Sender); err != nil {
		return nil, fmt.Errorf("create update path: %w", err)
	}
	cs := t.cs
	leafSecret := p.LeafSecret
	if leafSecret == nil {
		leafSecret = make([]byte, cs.Nh())
		if _, err := rand.Read(leafSecret); err != nil {
			return nil, fmt.Errorf("create update path: random: %w", err)
		}
	}
	leafKP, err := nodeKeyPair(cs, leafSecret)
	if err != nil {
		return nil, fmt.Errorf("create update path: leaf key: %w", err)
	}
	if err := t.BlankPath(p.Sender); err != nil {
		return nil, err
	}
	steps := t.FilteredDirectPath(p.Sender)
	nodes, jobs := t.pathJobs(steps, newLeafSet(p.Exclude))
	secrets := make([][]byte, len(steps))
	kps := make([]KeyPair, len(steps))
	pubs := make([][]byte, len(steps))
	secret := leafSecret
	for i := range steps {
		secret = cs.DeriveSecret(secret, "path")
		secrets[i] = secret
	}
	commitSecret := cs.DeriveSecret(secret, "path")
	err = parallel.For(len(steps), parallelDeriveMin, func(i int) error {
		kp, err := nodeKeyPair(cs, secrets[i])
		if err != nil {
			return fmt.Errorf("create update path: node %d: %w", steps[i].Node, err)
		}
		kps[i], pubs[i] = kp, kp.Pub
		return nil
	})
	if err != nil {
		return nil, err
	}

	phs, leafPH := t.pathParentHashes(steps, pubs)
	for i, s := range steps {
		t.setNode(s.Node, parentNode(&wire.ParentNode{
			EncryptionKey:  pubs[i],
			ParentHash:     phs[i],
			UnmergedLeaves: []uint32{},
		}))
	}
	leaf := *p.Leaf
	leaf.EncryptionKey = leafKP.Pub
	leaf.LeafNodeSource = wire.LeafNodeSourceCommit
	leaf.Lifetime = wire.Lifetime{}
	leaf.ParentHash = leafPH
	leaf.Signature, err = cs.SignWithLabel(p.SignaturePriv, labelLeafNodeTBS, leaf.TBS(p.GroupID, uint32(p.Sender)))
	if err != nil {
		return nil, fmt.Errorf("create update path: sign leaf: %w", err)
	}
	t.setNode(p.Sender.Node(), leafNode(&leaf))

	ctx, err := p.GroupContext(t.TreeHash())
	if err != nil {
		return nil, fmt.Errorf("create update path: group context: %w", err)
	}
	if err := t.encryptPath(steps, secrets, pubs, nodes, jobs, ctx); err != nil {
		return nil, fmt.Errorf("create update path: %w", err)
	}
	keys := NewPrivateKeys(p.Sender, leafKP)
	for i, s := range steps {
		keys.SetKey(s.Node, kps[i])
	}
	return &PathResult{
		Path:         &wire.UpdatePath{LeafNode: leaf, Nodes: nodes},
		CommitSecret: commitSecret,
		Keys:         keys,
		GroupContext: ctx,
		sender:       p.Sender,
		steps:        steps,
		secrets:      secrets,
	}, nil
}

// sealJob is one HPKE encryption of a path secret.
type sealJob struct {
	step, slot int
	pub        []byte
}

// pathJobs returns the UpdatePathNodes of steps, with their ciphertext
// slots allocated, and one sealJob per node in the resolution of each
// step's copath (without excl).
func (t *Tree) pathJobs(steps []PathStep, excl leafSet) ([]wire.UpdatePathNode, []sealJob) {
	nodes := make([]wire.UpdatePathNode, len(steps))
	var jobs []sealJob
	for i, s := range steps {
		nodes[i].EncryptedPathSecret = []wire.HPKECiphertext{}
		t.walkResolution(s.Copath, excl, func(x NodeIndex) bool {
			jobs = append(jobs, sealJob{step: i, slot: len(nodes[i].EncryptedPathSecret), pub: t.EncryptionKey(x)})
			nodes[i].EncryptedPathSecret = append(nodes[i].EncryptedPathSecret, wire.HPKECiphertext{})
			return true
		})
	}
	return nodes, jobs
}

// encryptPath fills nodes: each step's new public key pubs[i], and secrets[i]
// encrypted for every job of step i, spreading the encryptions over all
// CPUs when there are many.
func (t *Tree) encryptPath(steps []PathStep, secrets, pubs [][]byte, nodes []wire.UpdatePathNode, jobs []sealJob, ctx []byte) error {
	for i := range steps {
		nodes[i].EncryptionKey = pubs[i]
	}
	return parallel.For(len(jobs), parallelSealMin, func(k int) error {
		j := jobs[k]
		kem, ct, err := t.cs.EncryptWithLabel(j.pub, labelUpdatePathNode, ctx, secrets[j.step])
		if err != nil {
			return fmt.Errorf("encrypt path secret of node %d: %w", steps[j.step].Node, err)
		}
		nodes[j.step].EncryptedPathSecret[j.slot] = wire.HPKECiphertext{KEMOutput: kem, Ciphertext: ct}
		return nil
	})
}
