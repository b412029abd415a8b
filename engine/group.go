package engine

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// Member is one member of a group as seen in the ratchet tree.
type Member struct {
	// Index is the member's leaf index.
	Index uint32
	// Identity is the identity the member's credential names (see
	// [Credential.Identity]); not necessarily UTF-8 text.
	Identity []byte
	// CredentialType is the type of the member's credential.
	CredentialType CredentialType
	// SignatureKey is the member's signature public key.
	SignatureKey []byte
	// EncryptionKey is the member's leaf HPKE public key.
	EncryptionKey []byte
}

// memberOf describes leaf l, with x509 identities from ids.
func memberOf(ids *identityCache, l tree.LeafIndex, leaf *wire.LeafNode) Member {
	if leaf == nil {
		return Member{Index: uint32(l)}
	}
	return Member{
		Index:          uint32(l),
		Identity:       ids.identity(&leaf.Credential),
		CredentialType: CredentialType(leaf.Credential.CredentialType),
		SignatureKey:   bytes.Clone(leaf.SignatureKey),
		EncryptionKey:  bytes.Clone(leaf.EncryptionKey),
	}
}

// Group is this client's view of one MLS group, persisted through a
// [Storage]. Every method that changes the group writes one [Batch] and
// changes the in-memory state only once the batch is applied; on any error
// the group (in memory and in storage) is unchanged. A Group is safe for
// concurrent use; operations are serialized.
type Group struct {
	mu     sync.Mutex
	st     Storage
	id     []byte
	opts   Options
	s      *groupState
	closed bool
	// staged is the in-memory result of the pending commit, valid while
	// the state is still stagedBase.
	staged     *staged
	stagedBase *groupState
	// call is the Attach of the operation in progress (see attach.go).
	call *attachCall
}

// GroupID returns the group's id.
func (g *Group) GroupID() []byte { return bytes.Clone(g.id) }

// Epoch returns the current epoch number.
func (g *Group) Epoch() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.s.gc.Epoch
}

// CipherSuite returns the group's cipher suite identifier.
func (g *Group) CipherSuite() uint16 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return uint16(g.s.cs.ID())
}

// EpochAuthenticator returns the current epoch's epoch_authenticator (RFC
// 9420 §8.7), which all members of the epoch share.
func (g *Group) EpochAuthenticator() []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	return bytes.Clone(g.s.epoch.EpochAuthenticator)
}

// OwnIndex returns this member's leaf index.
func (g *Group) OwnIndex() uint32 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return uint32(g.s.me())
}

// Members returns the current members in leaf order.
func (g *Group) Members() []Member {
	g.mu.Lock()
	defer g.mu.Unlock()
	return treeMembers(g.s.ids, g.s.tree)
}

// HasPendingCommit reports whether a commit created by this member awaits
// [Group.MergePendingCommit] or [Group.ClearPendingCommit].
func (g *Group) HasPendingCommit() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.s.pending != nil
}

// Restored reports whether the current epoch was entered by importing a
// snapshot, in which case sending fails with [ErrRestoredEpoch].
func (g *Group) Restored() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.s.restored
}

// Export is the MLS exporter (RFC 9420 §8.5) of the current epoch.
func (g *Group) Export(label string, context []byte, length int) ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	out, err := g.s.epoch.Export(g.s.cs, label, context, length)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return out, nil
}

// usable returns an error if the group can no longer be used.
func (g *Group) usable() error {
	if g.closed {
		return fmt.Errorf("group %x: %w", g.id, ErrClosed)
	}
	return nil
}
