package tree

import (
	"fmt"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/internal/parallel"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// fullTree returns a tree of n members in which every parent node is set,
// the shape a group has after every member has committed. Keys come from a
// pool of real key pairs (the parent hashes are not valid; hashing and
// TreeKEM do not need them to be). Leaf 1 gets its own key pair, returned.
func fullTree(b *testing.B, cs *suite.Suite, n int) (*Tree, KeyPair) {
	b.Helper()
	pool := make([][]byte, 256)
	for i := range pool {
		_, pub, err := cs.GenerateKeyPair()
		if err != nil {
			b.Fatal(err)
		}
		pool[i] = pub
	}
	priv1, pub1, err := cs.GenerateKeyPair()
	if err != nil {
		b.Fatal(err)
	}
	width := 2*n - 1
	rt := make(wire.RatchetTree, width)
	for x := range width {
		key := pool[x%len(pool)]
		if x%2 == 0 {
			l := fakeLeaf(x / 2)
			l.EncryptionKey = key
			if x == 2 {
				l.EncryptionKey = pub1
			}
			rt[x] = leafNode(l)
		} else {
			rt[x] = parentNode(&wire.ParentNode{EncryptionKey: key, ParentHash: make([]byte, 32), UnmergedLeaves: []uint32{}})
		}
	}
	tr, err := FromRatchetTree(cs, rt)
	if err != nil {
		b.Fatal(err)
	}
	tr.TreeHash()
	return tr, KeyPair{Priv: priv1, Pub: pub1}
}

// BenchmarkTreeHash measures re-hashing after one leaf changes, with the
// cache of every other node warm, against hashing the whole tree.
func BenchmarkTreeHash(b *testing.B) {
	cs := mustSuite(b, 1)
	for _, n := range []int{1000, 10000} {
		tr, _ := fullTree(b, cs, n)
		leaves := [2]*wire.LeafNode{fakeLeaf(1), fakeLeaf(2)}
		b.Run(fmt.Sprintf("one-leaf-changed/n=%d", n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				if err := tr.SetLeaf(LeafIndex(n/2), leaves[i&1]); err != nil {
					b.Fatal(err)
				}
				tr.TreeHash()
				i++
			}
		})
		b.Run(fmt.Sprintf("from-scratch/n=%d", n), func(b *testing.B) {
			rt := tr.RatchetTree()
			for b.Loop() {
				fresh, err := FromRatchetTree(cs, rt)
				if err != nil {
					b.Fatal(err)
				}
				fresh.TreeHash()
			}
		})
	}
}

// sparseGroup returns the sparse shape: member A (leaf 0) added the other
// n-1 members in one commit with a path, and member B (leaf 1) joined from
// its Welcome. A's next path encrypts to n-1 leaves.
func sparseGroup(b *testing.B, cs *suite.Suite, n int) (base *Tree, a *member, aKeys, bKeys *PrivateKeys) {
	b.Helper()
	a = newMember(b, cs, "A")
	base = New(cs, a.leaf)
	var bMember *member
	added := make([]LeafIndex, 0, n-1)
	for i := 1; i < n; i++ {
		m := newMember(b, cs, fmt.Sprintf("member %d", i))
		if i == 1 {
			bMember = m
		}
		added = append(added, base.AddLeaf(m.leaf))
	}
	res, err := base.CreateUpdatePath(PathParams{
		Sender: 0, Leaf: base.Leaf(0), SignaturePriv: a.sigPriv, GroupID: testGroupID,
		Exclude: added, GroupContext: groupContext(cs),
	})
	if err != nil {
		b.Fatal(err)
	}
	bKeys = NewPrivateKeys(1, bMember.leafKP)
	secret, _ := res.PathSecretFor(1)
	if err := bKeys.ImportPathSecret(cs, base, 0, secret); err != nil {
		b.Fatal(err)
	}
	return base, a, res.Keys, bKeys
}

// pathFixture is a tree to commit on: the committer's leaf template and
// signature key, and the private keys of one receiver.
type pathFixture struct {
	base    *Tree
	sender  LeafIndex
	leaf    *wire.LeafNode
	sigPriv []byte
	recv    *PrivateKeys
}

func sparseFixture(b *testing.B, cs *suite.Suite, n int) *pathFixture {
	base, a, _, bKeys := sparseGroup(b, cs, n)
	return &pathFixture{base: base, sender: 0, leaf: base.Leaf(0), sigPriv: a.sigPriv, recv: bKeys}
}

func fullFixture(b *testing.B, cs *suite.Suite, n int) *pathFixture {
	base, kp1 := fullTree(b, cs, n)
	sigPriv, sigPub, err := cs.GenerateSignatureKey()
	if err != nil {
		b.Fatal(err)
	}
	leaf := *base.Leaf(0)
	leaf.SignatureKey = sigPub
	return &pathFixture{base: base, sender: 0, leaf: &leaf, sigPriv: sigPriv, recv: NewPrivateKeys(1, kp1)}
}

// BenchmarkUpdatePath measures creating an UpdatePath (committer) and
// merging plus decrypting it (receiver), each including the tree clone a
// group stages a commit on and the tree hash of the provisional context.
// In the sparse shape the path encrypts to n-1 leaves; in the full shape
// to log2(n) parent nodes.
func BenchmarkUpdatePath(b *testing.B) {
	cs := mustSuite(b, 1)
	ctxFn := groupContext(cs)
	shapes := []struct {
		name  string
		sizes []int
		build func(*testing.B, *suite.Suite, int) *pathFixture
	}{
		{"sparse", []int{1000}, sparseFixture},
		{"full", []int{1000, 10000}, fullFixture},
	}
	for _, sh := range shapes {
		for _, n := range sh.sizes {
			var fx *pathFixture
			var created *PathResult
			setup := func(b *testing.B) {
				if fx != nil {
					return
				}
				b.StopTimer()
				fx = sh.build(b, cs, n)
				var err error
				created, err = fx.base.Clone().CreateUpdatePath(fx.params(ctxFn))
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.Run(fmt.Sprintf("%s/create/n=%d", sh.name, n), func(b *testing.B) {
				setup(b)
				for b.Loop() {
					if _, err := fx.base.Clone().CreateUpdatePath(fx.params(ctxFn)); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("%s/create-crypto-floor/n=%d", sh.name, n), func(b *testing.B) {
				setup(b)
				cryptoFloorCreate(b, cs, created)
			})
			b.Run(fmt.Sprintf("%s/process/n=%d", sh.name, n), func(b *testing.B) {
				setup(b)
				for b.Loop() {
					tr := fx.base.Clone()
					if err := tr.ApplyUpdatePath(fx.sender, created.Path); err != nil {
						b.Fatal(err)
					}
					ctx, _ := ctxFn(tr.TreeHash())
					if _, err := tr.DecryptPath(fx.recv, fx.sender, created.Path, nil, ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("%s/process-crypto-floor/n=%d", sh.name, n), func(b *testing.B) {
				setup(b)
				cryptoFloorProcess(b, cs, created, fx.recv)
			})
		}
	}
}

// cryptoFloorProcess runs only the public-key operations the receiver at
// leaf 1 cannot avoid: one HPKE open and one DeriveKeyPair per node of the
// path, spread over the CPUs as DecryptPath spreads them.
func cryptoFloorProcess(b *testing.B, cs *suite.Suite, res *PathResult, recv *PrivateKeys) {
	kp, _ := recv.Key(recv.Leaf().Node())
	ct := res.Path.Nodes[0].EncryptedPathSecret[0]
	for b.Loop() {
		secret, err := cs.DecryptWithLabel(kp.Priv, labelUpdatePathNode, res.GroupContext, ct.KEMOutput, ct.Ciphertext)
		if err == nil {
			err = parallel.For(len(res.Path.Nodes), parallelDeriveMin, func(int) error {
				_, _, err := cs.DeriveKeyPair(secret)
				return err
			})
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// cryptoFloorCreate runs only the public-key operations creating res's
// path cannot avoid, spread over the CPUs as CreateUpdatePath spreads
// them: one HPKE seal per ciphertext, one DeriveKeyPair per path node and
// the leaf, and the leaf signature. Comparing it with the create benchmark
// gives the tree's own overhead.
func cryptoFloorCreate(b *testing.B, cs *suite.Suite, res *PathResult) {
	var pubs [][]byte
	for _, n := range res.Path.Nodes {
		for range n.EncryptedPathSecret {
			pubs = append(pubs, n.EncryptionKey)
		}
	}
	sigPriv, _, err := cs.GenerateSignatureKey()
	if err != nil {
		b.Fatal(err)
	}
	secret := make([]byte, cs.Nh())
	for b.Loop() {
		err := parallel.For(len(pubs), parallelSealMin, func(i int) error {
			_, _, err := cs.EncryptWithLabel(pubs[i], labelUpdatePathNode, res.GroupContext, secret)
			return err
		})
		if err == nil {
			err = parallel.For(len(res.Path.Nodes)+1, parallelDeriveMin, func(int) error {
				_, _, err := cs.DeriveKeyPair(secret)
				return err
			})
		}
		if err == nil {
			_, err = cs.SignWithLabel(sigPriv, labelLeafNodeTBS, res.GroupContext)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

func (fx *pathFixture) params(ctxFn func([]byte) ([]byte, error)) PathParams {
	return PathParams{Sender: fx.sender, Leaf: fx.leaf, SignaturePriv: fx.sigPriv, GroupID: testGroupID, GroupContext: ctxFn}
}

// BenchmarkJoinTree measures what joining costs on the tree side (the
// ratchet_tree extension of a Welcome): decoding the tree, hashing it and
// validating it, leaf signatures included, in the sparse shape.
func BenchmarkJoinTree(b *testing.B) {
	cs := mustSuite(b, 1)
	for _, n := range []int{100, 1000} {
		var enc []byte
		b.Run(fmt.Sprintf("sparse/n=%d", n), func(b *testing.B) {
			if enc == nil {
				b.StopTimer()
				base, _, _, _ := sparseGroup(b, cs, n)
				enc = base.Encode()
				b.StartTimer()
			}
			for b.Loop() {
				tr, err := Decode(cs, enc)
				if err != nil {
					b.Fatal(err)
				}
				tr.TreeHash()
				if err := tr.Validate(ValidateOptions{GroupID: testGroupID}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkClone measures staging a copy of the tree, as a group does for
// every commit it creates or processes.
func BenchmarkClone(b *testing.B) {
	cs := mustSuite(b, 1)
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.StopTimer()
			tr, _ := fullTree(b, cs, n)
			tr.Mark()
			tr.Clone()
			b.StartTimer()
			for b.Loop() {
				tr.Clone()
			}
		})
	}
}
