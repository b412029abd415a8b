package engine

import (
	"context"
	"errors"
)

// ErrNotFound is returned by [Storage.Get] when a component does not exist.
var ErrNotFound = errors.New("engine: component not found")

// Kind names a class of stored component. Stores may map kinds to
// directories (see localstore's layout); the engine decides names within a kind.
type Kind string

// The component kinds the engine writes.
const (
	// KindState holds public group state: group context, transcript hashes,
	// ratchet-tree chunks, own leaf index, pending proposals and commit.
	KindState Kind = "state"
	// KindEpochSecrets holds per-epoch secrets (epoch_<N>.bin), kept for
	// the newest epochs only.
	KindEpochSecrets Kind = "epoch_secrets"
	// KindKeys holds own private keys: leaf and path HPKE keys, the
	// signature key, and unused KeyPackage init keys.
	KindKeys Kind = "keys"
)

// Key identifies one stored component. Group is the MLS group id; a nil or
// empty Group means a client-level component (not tied to a group), such as
// the private keys of KeyPackages not yet used.
type Key struct {
	Group []byte
	Kind  Kind
	Name  string
}

// Put writes Value under Key.
type Put struct {
	Key   Key
	Value []byte
}

// Batch is every change of one state transition. A [Storage] applies it
// all-or-nothing.
type Batch struct {
	// Op names the operation (e.g. "AddMembers", "ProcessCommit", "SendMessage")
	// for logging and recovery reports. It never contains secrets.
	Op string
	// Group is the group the operation acts on (empty for client-level ops).
	Group []byte
	// Puts are components to create or replace.
	Puts []Put
	// Deletes are components to remove; deleting a missing component is not an error.
	Deletes []Key
}

// Empty reports whether the batch changes nothing.
func (b *Batch) Empty() bool { return len(b.Puts) == 0 && len(b.Deletes) == 0 }

// Storage is where the engine keeps all state. Implementations must make
// [Storage.Apply] atomic and durable: when it returns nil, a crash at any
// later instant leaves every change of the batch visible; when it fails or a
// crash interrupts it, none is.
type Storage interface {
	// Get returns a copy of the component's bytes, or an error wrapping
	// [ErrNotFound].
	Get(ctx context.Context, key Key) ([]byte, error)
	// List returns the names of the components of one kind in a group, sorted.
	List(ctx context.Context, group []byte, kind Kind) ([]string, error)
	// Groups returns the ids of all groups that have stored components, sorted.
	Groups(ctx context.Context) ([][]byte, error)
	// Apply applies b atomically and durably.
	Apply(ctx context.Context, b *Batch) error
}
