package engine

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/keyschedule"
	"github.com/mlsbackup/mlsbackup/engine/secrettree"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// groupState is everything a member knows about a group at one epoch.
// Transitions never modify a state in place: they work on a clone and the
// group swaps it in once the transition's batch is durable.
type groupState struct {
	cs      *suite.Suite
	gc      wire.GroupContext
	interim []byte
	// tag is the confirmation tag of the commit that started the epoch.
	tag     []byte
	tree    *tree.Tree
	keys    *tree.PrivateKeys
	sigPriv []byte
	// epoch holds the current epoch's secrets (transient ones forgotten).
	epoch   *keyschedule.Epoch
	secrets *secrettree.Tree
	// lease is, per ratchet (handshake, application), the first own
	// generation not yet reserved by a durable write.
	lease [2]uint32
	// proposals is the proposal cache of the current epoch.
	proposals []cachedProposal
	// pending is this member's own commit, created but not merged.
	pending *pendingCommit
	// restored marks a member restored from a snapshot that has not yet
	// merged a fresh commit of its own: the lost state may have used any
	// secret-tree key of this epoch and of every later epoch reached by
	// processing others' commits, so no secret-tree key may be used.
	restored bool
	// legacyTree marks a state whose stored tree is in layout 1: the next
	// stateBatch rewrites it in the current layout (see treestore.go).
	legacyTree bool
	// past holds the retained earlier epochs, oldest first.
	past []*pastEpoch
	// ids caches the identities of x509 credentials for member lists;
	// the states of one group share it.
	ids *identityCache
}

// pastEpoch is a retained earlier epoch: enough to open late application
// messages and to supply its resumption PSK.
type pastEpoch struct {
	gc      wire.GroupContext
	epoch   *keyschedule.Epoch
	secrets *secrettree.Tree
	// retired maps each leaf whose signature key the commit that ended
	// this epoch changed (updated, removed, added, truncated away) to the
	// key it had in this epoch (empty if it was blank), so a late message
	// is verified with its sender's key as of its epoch. Not modified
	// after creation.
	retired map[uint32][]byte
	dirty   bool
}

func (p *pastEpoch) clone() *pastEpoch {
	return &pastEpoch{gc: p.gc, epoch: p.epoch, secrets: p.secrets.Clone(), retired: p.retired}
}

// retiredKeys returns, for each leaf whose signature key differs between
// old and next (next being old with a commit applied, its changes tracked
// since old was stored), the key the leaf had in old (empty if blank).
func retiredKeys(old, next *tree.Tree) map[uint32][]byte {
	out := map[uint32][]byte{}
	note := func(l tree.LeafIndex) {
		var was, now []byte
		if lf := old.Leaf(l); lf != nil {
			was = lf.SignatureKey
		}
		if lf := next.Leaf(l); lf != nil {
			now = lf.SignatureKey
		}
		if (was == nil) == (now == nil) && bytes.Equal(was, now) {
			return
		}
		if was == nil {
			was = []byte{}
		}
		out[uint32(l)] = was
	}
	for _, x := range next.ChangedNodes() {
		if l, ok := x.Leaf(); ok {
			note(l)
		}
	}
	for l := next.NumLeaves(); l < old.NumLeaves(); l++ {
		note(tree.LeafIndex(l))
	}
	return out
}

// cachedProposal is a proposal received (or sent) in the current epoch,
// which a commit may include by reference.
type cachedProposal struct {
	Ref      []byte
	Proposal wire.Proposal
	Sender   wire.Sender
	// LeafPriv is the new leaf's private key of this member's own Update.
	LeafPriv []byte
}

func (c cachedProposal) MarshalTLS(w *codec.Writer) {
	w.Opaque(c.Ref)
	c.Proposal.MarshalTLS(w)
	c.Sender.MarshalTLS(w)
	w.Opaque(c.LeafPriv)
}

func (c *cachedProposal) UnmarshalTLS(r *codec.Reader) {
	c.Ref = r.Opaque()
	c.Proposal.UnmarshalTLS(r)
	c.Sender.UnmarshalTLS(r)
	c.LeafPriv = r.Opaque()
}

func (s *groupState) me() tree.LeafIndex { return s.keys.Leaf() }

// noLeaf stands for "no own leaf" (an external joiner staging its commit).
const noLeaf = ^uint32(0)

// clone returns a copy that can be changed without affecting s.
func (s *groupState) clone() *groupState {
	c := *s
	c.tree = s.tree.Clone()
	if s.keys != nil {
		c.keys = s.keys.Clone()
	}
	if s.secrets != nil {
		c.secrets = s.secrets.Clone()
	}
	c.proposals = slices.Clone(s.proposals)
	c.past = slices.Clone(s.past)
	return &c
}

// requiredCapabilities returns the group's required_capabilities extension.
func requiredCapabilities(exts wire.Extensions) (*wire.RequiredCapabilities, error) {
	b, ok := exts.Find(wire.ExtensionRequiredCapabilities)
	if !ok {
		return nil, nil
	}
	var rc wire.RequiredCapabilities
	if err := codec.Unmarshal(b, &rc); err != nil {
		return nil, fmt.Errorf("required_capabilities: %w", typed(err))
	}
	return &rc, nil
}

// externalSenders returns the group's external_senders extension.
func externalSenders(exts wire.Extensions) (wire.ExternalSenders, error) {
	b, ok := exts.Find(wire.ExtensionExternalSenders)
	if !ok {
		return nil, nil
	}
	var es wire.ExternalSenders
	if err := codec.Unmarshal(b, &es); err != nil {
		return nil, fmt.Errorf("external_senders: %w", typed(err))
	}
	return es, nil
}

// findProposal returns the cached proposal with reference ref.
func (s *groupState) findProposal(ref []byte) (*cachedProposal, bool) {
	for i := range s.proposals {
		if bytes.Equal(s.proposals[i].Ref, ref) {
			return &s.proposals[i], true
		}
	}
	return nil, false
}

// resumptionPSK returns the resumption PSK of epoch e of this group, if
// retained.
func (s *groupState) resumptionPSK(e uint64) ([]byte, bool) {
	if e == s.gc.Epoch && s.epoch != nil {
		return s.epoch.ResumptionPSK, true
	}
	for _, p := range s.past {
		if p.gc.Epoch == e {
			return p.epoch.ResumptionPSK, true
		}
	}
	return nil, false
}

// newSecretTree builds the secret tree of an epoch being entered and
// forgets the epoch's transient secrets.
func newSecretTree(cs *suite.Suite, ep *keyschedule.Epoch, leaves uint32, cfg secrettree.Config) (*secrettree.Tree, error) {
	st, err := secrettree.New(cs, ep.EncryptionSecret, leaves, cfg)
	if err != nil {
		return nil, fmt.Errorf("secret tree: %w", err)
	}
	return st, nil
}
