package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"

	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// SnapshotReport says what a GroupSnapshot holds, without a secret: for
// inspection and debugging (mlsbackup snapshot inspect).
type SnapshotReport struct {
	SnapshotInfo
	// Version is the GroupSnapshot format version.
	Version int
	// OwnIndex is the leaf of the member the snapshot belongs to.
	OwnIndex uint32
	// TreeHash is the ratchet tree's root hash at the snapshot's epoch.
	TreeHash []byte
	// Members are the group's members.
	Members []MemberReport
	// SecretEpochs are the epochs whose secrets the snapshot carries (the
	// current one and the retained past ones), oldest first.
	SecretEpochs []uint64
	// Restored says the member was restored from a snapshot and has not
	// yet merged a commit of its own since (it may not send).
	Restored bool
	// Components lists each stored component and its size in bytes.
	Components []ComponentSize
}

// MemberReport describes one member as the snapshot's tree has it.
type MemberReport struct {
	Index uint32
	// Identity is the credential's identity (basic credentials).
	Identity []byte
	// SignatureKeySHA256 is the SHA-256 of the member's signature public
	// key: a fingerprint to compare with the member's own.
	SignatureKeySHA256 []byte
}

// ComponentSize is one stored component of a snapshot and its size.
type ComponentSize struct {
	Kind Kind
	Name string
	Size int
}

// InspectSnapshot verifies a GroupSnapshot as [ImportSnapshot] does
// (checksum, framing, a complete and consistent group at the epoch it
// claims) and reports what it holds. It stores nothing and returns no
// secret.
func InspectSnapshot(ctx context.Context, data []byte) (*SnapshotReport, error) {
	info, comps, err := parseSnapshot(data)
	if err != nil {
		return nil, fmt.Errorf("inspect snapshot: %w", err)
	}
	mem := NewMemStorage()
	b := &Batch{Op: "InspectSnapshot", Group: info.GroupID}
	for _, c := range comps {
		b.Puts = append(b.Puts, Put{Key: Key{Group: info.GroupID, Kind: c.Kind, Name: c.Name}, Value: c.Value})
	}
	if err := mem.Apply(ctx, b); err != nil {
		return nil, fmt.Errorf("inspect snapshot: %w", err)
	}
	s, err := loadState(ctx, mem, info.GroupID, Options{}.withDefaults())
	if err != nil {
		return nil, fmt.Errorf("inspect snapshot: %w", err)
	}
	if s.gc.Epoch != info.Epoch || uint16(s.cs.ID()) != info.CipherSuite || !bytes.Equal(s.epoch.EpochAuthenticator, info.EpochAuthenticator) {
		return nil, fmt.Errorf("inspect snapshot: header does not match contents: %w", ErrCorrupt)
	}
	rep := &SnapshotReport{SnapshotInfo: info, Version: snapshotVersion, OwnIndex: uint32(s.me()),
		TreeHash: s.tree.TreeHash(), Restored: s.restored}
	rep.Size, rep.Components = len(data), make([]ComponentSize, 0, len(comps))
	for _, c := range comps {
		rep.Components = append(rep.Components, ComponentSize{Kind: c.Kind, Name: c.Name, Size: len(c.Value)})
		if e, ok := epochOfName(c.Kind, c.Name); ok {
			rep.SecretEpochs = append(rep.SecretEpochs, e)
		}
	}
	s.tree.Members(func(l tree.LeafIndex, leaf *wire.LeafNode) bool {
		fp := sha256.Sum256(leaf.SignatureKey)
		rep.Members = append(rep.Members, MemberReport{Index: uint32(l), Identity: bytes.Clone(leaf.Credential.Identity), SignatureKeySHA256: fp[:]})
		return true
	})
	return rep, nil
}

// epochOfName returns N of an epoch record epoch_secrets/epoch_<N>.bin.
func epochOfName(kind Kind, name string) (uint64, bool) {
	if kind != KindEpochSecrets {
		return 0, false
	}
	n, ok := strings.CutPrefix(name, "epoch_")
	if !ok {
		return 0, false
	}
	n, ok = strings.CutSuffix(n, ".bin")
	if !ok {
		return 0, false
	}
	e, err := strconv.ParseUint(n, 10, 64)
	return e, err == nil
}
