package treevectors

import (
	"errors"
	"fmt"
	"sort"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// treeKEMVector is one case of treekem.json.
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

// groupContext encodes the case's GroupContext with treeHash and no
// extensions, the HPKE context of its update paths.
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

// privateStates builds the private TreeKEM state of every listed leaf and
// checks it against the tree.
func (v *treeKEMVector) privateStates(cs *suite.Suite, tr *tree.Tree) (map[tree.LeafIndex]*tree.PrivateKeys, error) {
	out := make(map[tree.LeafIndex]*tree.PrivateKeys)
	for _, lp := range v.LeavesPrivate {
		l := tree.LeafIndex(lp.Index)
		pub, err := cs.PublicKeyFromPrivate(lp.EncryptionPriv)
		if err != nil {
			return nil, fmt.Errorf("leaf %d: %w", l, err)
		}
		keys := tree.NewPrivateKeys(l, tree.KeyPair{Priv: lp.EncryptionPriv, Pub: pub})
		for _, ps := range lp.PathSecrets {
			if err := keys.SetPathSecret(cs, tree.NodeIndex(ps.Node), ps.PathSecret); err != nil {
				return nil, fmt.Errorf("leaf %d: %w", l, err)
			}
		}
		if err := keys.CheckConsistent(tr); err != nil {
			return nil, fmt.Errorf("leaf %d: private state inconsistent with tree: %w", l, err)
		}
		out[l] = keys
	}
	return out, nil
}

// treeKEMCase processes every update path for every other member with a
// private state (path secret, commit secret, tree hash after), then
// creates a fresh path from the same sender and has every other member
// process it to the same commit secret.
func treeKEMCase(v *treeKEMVector) error {
	cs, err := newSuite(v.CipherSuite)
	if err != nil {
		return err
	}
	base, err := decode(cs, v.RatchetTree)
	if err != nil {
		return err
	}
	priv, err := v.privateStates(cs, base)
	if err != nil {
		return err
	}
	receivers := make([]tree.LeafIndex, 0, len(priv))
	for l := range priv {
		receivers = append(receivers, l)
	}
	sort.Slice(receivers, func(i, j int) bool { return receivers[i] < receivers[j] })
	sigPriv := make(map[tree.LeafIndex][]byte)
	for _, lp := range v.LeavesPrivate {
		sigPriv[tree.LeafIndex(lp.Index)] = lp.SignaturePriv
	}
	var errs []error
	for _, up := range v.UpdatePaths {
		sender := tree.LeafIndex(up.Sender)
		var path wire.UpdatePath
		if err := codec.Unmarshal(up.UpdatePath, &path); err != nil {
			return fmt.Errorf("sender %d: update path: %w", sender, err)
		}
		if err := receivePath(cs, v, base, priv, sender, &path, up.PathSecrets, up.CommitSecret, up.TreeHashAfter); err != nil {
			errs = append(errs, fmt.Errorf("sender %d: %w", sender, err))
		}
		if err := recreatePath(cs, v, base, priv, receivers, sender, sigPriv[sender]); err != nil {
			errs = append(errs, fmt.Errorf("sender %d, created path: %w", sender, err))
		}
	}
	return errors.Join(errs...)
}

// receivePath merges the given path and checks what each receiver decrypts.
func receivePath(cs *suite.Suite, v *treeKEMVector, base *tree.Tree, priv map[tree.LeafIndex]*tree.PrivateKeys,
	sender tree.LeafIndex, path *wire.UpdatePath, pathSecrets []vectors.Hex, commitSecret, treeHashAfter []byte) error {
	check := tree.LeafCheck{Source: wire.LeafNodeSourceCommit, GroupID: v.GroupID, Leaf: sender}
	if err := tree.ValidateLeafNode(cs, &path.LeafNode, check); err != nil {
		return fmt.Errorf("leaf: %w", err)
	}
	tr := base.Clone()
	if err := tr.ApplyUpdatePath(sender, path); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	if err := equal("tree hash after", tr.TreeHash(), treeHashAfter); err != nil {
		return err
	}
	if err := tr.VerifyParentHashes(); err != nil {
		return fmt.Errorf("parent hashes after merge: %w", err)
	}
	ctx := v.groupContext(tr.TreeHash())
	for j, want := range pathSecrets {
		keys, have := priv[tree.LeafIndex(j)]
		if tree.LeafIndex(j) == sender || want == nil || !have {
			continue
		}
		d, err := tr.DecryptPath(keys, sender, path, nil, ctx)
		if err != nil {
			return fmt.Errorf("receiver %d: %w", j, err)
		}
		if err := equal(fmt.Sprintf("receiver %d: path secret", j), d.PathSecret, want); err != nil {
			return err
		}
		if err := equal(fmt.Sprintf("receiver %d: commit secret", j), d.CommitSecret, commitSecret); err != nil {
			return err
		}
		if err := d.Keys.CheckConsistent(tr); err != nil {
			return fmt.Errorf("receiver %d: keys after: %w", j, err)
		}
	}
	return nil
}

// recreatePath creates a new path from sender and checks that every other
// receiver derives its commit secret and the same tree.
func recreatePath(cs *suite.Suite, v *treeKEMVector, base *tree.Tree, priv map[tree.LeafIndex]*tree.PrivateKeys,
	receivers []tree.LeafIndex, sender tree.LeafIndex, sigPriv []byte) error {
	if sigPriv == nil {
		return fmt.Errorf("no private state for the sender")
	}
	mine := base.Clone()
	res, err := mine.CreateUpdatePath(tree.PathParams{
		Sender:        sender,
		Leaf:          base.Leaf(sender),
		SignaturePriv: sigPriv,
		GroupID:       v.GroupID,
		GroupContext:  func(th []byte) ([]byte, error) { return v.groupContext(th), nil },
	})
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	if err := res.Keys.CheckConsistent(mine); err != nil {
		return fmt.Errorf("created keys: %w", err)
	}
	if err := mine.VerifyParentHashes(); err != nil {
		return fmt.Errorf("parent hashes after create: %w", err)
	}
	var path wire.UpdatePath
	if err := codec.Unmarshal(codec.Marshal(res.Path), &path); err != nil {
		return fmt.Errorf("re-decode: %w", err)
	}
	for _, l := range receivers {
		if l == sender || base.Leaf(l) == nil {
			continue
		}
		theirs := base.Clone()
		if err := theirs.ApplyUpdatePath(sender, &path); err != nil {
			return fmt.Errorf("receiver %d: apply: %w", l, err)
		}
		if err := equal(fmt.Sprintf("receiver %d: tree hash", l), theirs.TreeHash(), mine.TreeHash()); err != nil {
			return err
		}
		d, err := theirs.DecryptPath(priv[l], sender, &path, nil, v.groupContext(theirs.TreeHash()))
		if err != nil {
			return fmt.Errorf("receiver %d: %w", l, err)
		}
		if err := equal(fmt.Sprintf("receiver %d: commit secret", l), d.CommitSecret, res.CommitSecret); err != nil {
			return err
		}
	}
	return nil
}
