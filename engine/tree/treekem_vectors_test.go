package tree

import (
	"bytes"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

type treeKEMVector struct {
	CipherSuite             uint16      `json:"cipher_suite"`
	GroupID                 vectors.Hex `json:"group_id"`
	Epoch                   uint64      `json:"epoch"`
	ConfirmedTranscriptHash vectors.Hex `json:"confirmed_transcript_hash"`
	RatchetTree             vectors.Hex `json:"ratchet_tree"`
	LeavesPrivate           []struct {
		Index          uint32      `json:"index"`
		EncryptionPriv vectors.Hex `json:"encryption_priv"`
		SignaturePriv  vectors.Hex `json:"signature_priv"`
		PathSecrets    []struct {
			Node       uint32      `json:"node"`
			PathSecret vectors.Hex `json:"path_secret"`
		} `json:"path_secrets"`
	} `json:"leaves_private"`
	UpdatePaths []struct {
		Sender        uint32        `json:"sender"`
		UpdatePath    vectors.Hex   `json:"update_path"`
		PathSecrets   []vectors.Hex `json:"path_secrets"`
		CommitSecret  vectors.Hex   `json:"commit_secret"`
		TreeHashAfter vectors.Hex   `json:"tree_hash_after"`
	} `json:"update_paths"`
}

// groupContextFor returns the GroupContext callback of a vector: its
// fields with the given tree hash and no extensions.
func (v *treeKEMVector) groupContext(treeHash []byte) []byte {
	return codec.Marshal(wire.GroupContext{
		Version:                 wire.ProtocolVersionMLS10,
		CipherSuite:             wire.CipherSuite(v.CipherSuite),
		GroupID:                 v.GroupID,
		Epoch:                   v.Epoch,
		TreeHash:                treeHash,
		ConfirmedTranscriptHash: v.ConfirmedTranscriptHash,
		Extensions:              wire.Extensions{},
	})
}

// privateStates builds and checks the private TreeKEM state of every leaf
// listed in the vector.
func (v *treeKEMVector) privateStates(t *testing.T, cs *suite.Suite, tr *Tree) map[LeafIndex]*PrivateKeys {
	t.Helper()
	out := make(map[LeafIndex]*PrivateKeys)
	for _, lp := range v.LeavesPrivate {
		l := LeafIndex(lp.Index)
		pub, err := cs.PublicKeyFromPrivate(lp.EncryptionPriv)
		if err != nil {
			t.Fatalf("leaf %d: %v", l, err)
		}
		keys := NewPrivateKeys(l, KeyPair{Priv: lp.EncryptionPriv, Pub: pub})
		for _, ps := range lp.PathSecrets {
			if err := keys.SetPathSecret(cs, NodeIndex(ps.Node), ps.PathSecret); err != nil {
				t.Fatalf("leaf %d: %v", l, err)
			}
		}
		if err := keys.CheckConsistent(tr); err != nil {
			t.Fatalf("leaf %d: private state inconsistent with tree: %v", l, err)
		}
		out[l] = keys
	}
	return out
}

func TestTreeKEMVectors(t *testing.T) {
	var vs []treeKEMVector
	if err := vectors.Load("treekem", &vs); err != nil {
		t.Fatal(err)
	}
	passed, paths := 0, 0
	for i := range vs {
		v := &vs[i]
		if runTreeKEMCase(t, i, v) {
			passed++
		}
		paths += len(v.UpdatePaths)
	}
	if passed != len(vs) {
		t.Errorf("treekem: %d of %d cases passed", passed, len(vs))
	}
	t.Logf("treekem: %d of %d cases passed (%d update paths processed and re-created)", passed, len(vs), paths)
}

func runTreeKEMCase(t *testing.T, i int, v *treeKEMVector) bool {
	t.Helper()
	cs := mustSuite(t, v.CipherSuite)
	base := mustDecode(t, cs, v.RatchetTree)
	priv := v.privateStates(t, cs, base)
	sigPriv := make(map[LeafIndex][]byte)
	for _, lp := range v.LeavesPrivate {
		sigPriv[LeafIndex(lp.Index)] = lp.SignaturePriv
	}
	ok := true
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("case %d (suite %d): "+format, append([]any{i, v.CipherSuite}, args...)...)
		ok = false
	}
	for _, up := range v.UpdatePaths {
		sender := LeafIndex(up.Sender)
		var path wire.UpdatePath
		if err := codec.Unmarshal(up.UpdatePath, &path); err != nil {
			t.Fatalf("case %d: update path: %v", i, err)
		}
		// Merge the received path and check the resulting tree.
		tr := base.Clone()
		if err := ValidateLeafNode(cs, &path.LeafNode, LeafCheck{Source: wire.LeafNodeSourceCommit, GroupID: v.GroupID, Leaf: sender}); err != nil {
			fail("sender %d: leaf: %v", sender, err)
			continue
		}
		if err := tr.ApplyUpdatePath(sender, &path); err != nil {
			fail("sender %d: apply: %v", sender, err)
			continue
		}
		if got := tr.TreeHash(); !bytes.Equal(got, up.TreeHashAfter) {
			fail("sender %d: tree hash after = %x, want %x", sender, got, up.TreeHashAfter)
		}
		if err := tr.VerifyParentHashes(); err != nil {
			fail("sender %d: parent hashes after merge: %v", sender, err)
		}
		ctx := v.groupContext(tr.TreeHash())
		for j, want := range up.PathSecrets {
			keys, have := priv[LeafIndex(j)]
			if LeafIndex(j) == sender || want == nil || !have {
				continue
			}
			d, err := tr.DecryptPath(keys, sender, &path, nil, ctx)
			if err != nil {
				fail("sender %d, receiver %d: %v", sender, j, err)
				continue
			}
			if !bytes.Equal(d.PathSecret, want) {
				fail("sender %d, receiver %d: path secret %x, want %x", sender, j, d.PathSecret, want)
			}
			if !bytes.Equal(d.CommitSecret, up.CommitSecret) {
				fail("sender %d, receiver %d: commit secret %x, want %x", sender, j, d.CommitSecret, up.CommitSecret)
			}
			if err := d.Keys.CheckConsistent(tr); err != nil {
				fail("sender %d, receiver %d: keys after: %v", sender, j, err)
			}
		}

		// Create a fresh path from the same sender and have everyone process it.
		sig, have := sigPriv[sender]
		if !have {
			fail("sender %d has no private state", sender)
			continue
		}
		mine := base.Clone()
		res, err := mine.CreateUpdatePath(PathParams{
			Sender:        sender,
			Leaf:          base.Leaf(sender),
			SignaturePriv: sig,
			GroupID:       v.GroupID,
			GroupContext:  func(th []byte) ([]byte, error) { return v.groupContext(th), nil },
		})
		if err != nil {
			fail("sender %d: create: %v", sender, err)
			continue
		}
		if err := res.Keys.CheckConsistent(mine); err != nil {
			fail("sender %d: created keys: %v", sender, err)
		}
		if err := mine.VerifyParentHashes(); err != nil {
			fail("sender %d: parent hashes after create: %v", sender, err)
		}
		encoded := codec.Marshal(res.Path)
		var got wire.UpdatePath
		if err := codec.Unmarshal(encoded, &got); err != nil {
			fail("sender %d: re-decode created path: %v", sender, err)
			continue
		}
		for l, keys := range priv {
			if l == sender || base.Leaf(l) == nil {
				continue
			}
			theirs := base.Clone()
			if err := theirs.ApplyUpdatePath(sender, &got); err != nil {
				fail("sender %d, receiver %d: apply created path: %v", sender, l, err)
				continue
			}
			if !bytes.Equal(theirs.TreeHash(), mine.TreeHash()) {
				fail("sender %d, receiver %d: tree hashes differ after created path", sender, l)
			}
			d, err := theirs.DecryptPath(keys, sender, &got, nil, v.groupContext(theirs.TreeHash()))
			if err != nil {
				fail("sender %d, receiver %d: process created path: %v", sender, l, err)
				continue
			}
			if !bytes.Equal(d.CommitSecret, res.CommitSecret) {
				fail("sender %d, receiver %d: commit secret of created path differs", sender, l)
			}
		}
	}
	return ok
}
