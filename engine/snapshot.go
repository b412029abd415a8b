package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/secrettree"
)

// Snapshot format constants. A GroupSnapshot is, in the TLS presentation
// language of RFC 9420 §2.1:
//
//	struct {
//	    opaque magic[8] = "MLSBSNAP";
//	    uint16 version = 1;
//	    uint16 cipher_suite;
//	    opaque group_id<V>;
//	    uint64 epoch;
//	    opaque epoch_authenticator<V>;
//	    Component components<V>;   // sorted by (kind, name)
//	    opaque sha256[32];         // SHA-256 of all preceding bytes
//	} GroupSnapshot;
//
//	struct {
//	    opaque kind<V>;            // "state", "keys" or "epoch_secrets"
//	    opaque name<V>;
//	    opaque value<V>;
//	} Component;
//
// The components are the group's stored components (see doc.go) except
// keys/pending_commit: a restored member starts without a pending commit;
// and the member's own ratchet records (ratchet_<N>_<own leaf>.bin) are
// exported exhausted ([secrettree.ExhaustLeafRecord]): a restored member
// never sends with a secret-tree key of the snapshot's epochs, so they
// would only give away the keys of the messages it sends after the
// snapshot was taken.
const (
	snapshotMagic   = "MLSBSNAP"
	snapshotVersion = 1
)

// ErrGroupExists means an import would overwrite a stored group and force
// was not set.
var ErrGroupExists = errors.New("engine: group already stored")

// SnapshotInfo describes a GroupSnapshot.
type SnapshotInfo struct {
	GroupID            []byte
	Epoch              uint64
	CipherSuite        uint16
	EpochAuthenticator []byte
	// Components is the number of stored components in the snapshot.
	Components int
	// Size is the snapshot's length in bytes.
	Size int
	// SHA256 is the snapshot's trailing checksum.
	SHA256 []byte
}

type snapshotComponent struct {
	Kind  Kind
	Name  string
	Value []byte
}

// ExportSnapshot reads group groupID from st and returns it as one
// self-describing, versioned, checksummed GroupSnapshot with everything
// needed to resume as this member at this epoch. Callers must not run
// transitions of the group concurrently.
func ExportSnapshot(ctx context.Context, st Storage, groupID []byte) ([]byte, SnapshotInfo, error) {
	s, err := loadState(ctx, st, groupID, Options{}.withDefaults())
	if err != nil {
		return nil, SnapshotInfo{}, fmt.Errorf("export snapshot %x: %w", groupID, err)
	}
	var comps []snapshotComponent
	for _, kind := range []Kind{KindEpochSecrets, KindKeys, KindState} {
		names, err := st.List(ctx, groupID, kind)
		if err != nil {
			return nil, SnapshotInfo{}, fmt.Errorf("export snapshot: list %s: %w", kind, err)
		}
		for _, n := range names {
			if kind == KindKeys && n == namePending {
				continue
			}
			v, err := getComponent(ctx, st, groupID, kind, n)
			if err != nil {
				return nil, SnapshotInfo{}, fmt.Errorf("export snapshot: %w", err)
			}
			if _, leaf, ok := parseRatchetName(n); ok && kind == KindEpochSecrets && leaf == uint32(s.me()) {
				if v, err = secrettree.ExhaustLeafRecord(v); err != nil {
					return nil, SnapshotInfo{}, fmt.Errorf("export snapshot: %s: %w: %w", n, ErrCorrupt, err)
				}
			}
			comps = append(comps, snapshotComponent{Kind: kind, Name: n, Value: v})
		}
	}
	sort.Slice(comps, func(i, j int) bool {
		if comps[i].Kind != comps[j].Kind {
			return comps[i].Kind < comps[j].Kind
		}
		return comps[i].Name < comps[j].Name
	})
	var w codec.Writer
	w.Raw([]byte(snapshotMagic))
	w.Uint16(snapshotVersion)
	w.Uint16(uint16(s.cs.ID()))
	w.Opaque(groupID)
	w.Uint64(s.gc.Epoch)
	w.Opaque(s.epoch.EpochAuthenticator)
	w.Vector(func(w *codec.Writer) {
		for _, c := range comps {
			w.Opaque([]byte(c.Kind))
			w.Opaque([]byte(c.Name))
			w.Opaque(c.Value)
		}
	})
	sum := sha256.Sum256(w.Bytes())
	w.Raw(sum[:])
	data := w.Bytes()
	return data, SnapshotInfo{
		GroupID: bytes.Clone(groupID), Epoch: s.gc.Epoch, CipherSuite: uint16(s.cs.ID()),
		EpochAuthenticator: bytes.Clone(s.epoch.EpochAuthenticator), Components: len(comps),
		Size: len(data), SHA256: sum[:],
	}, nil
}

// parseSnapshot checks a GroupSnapshot's framing and checksum and decodes it.
func parseSnapshot(data []byte) (SnapshotInfo, []snapshotComponent, error) {
	var info SnapshotInfo
	if len(data) < len(snapshotMagic)+sha256.Size || string(data[:len(snapshotMagic)]) != snapshotMagic {
		return info, nil, fmt.Errorf("not a group snapshot: %w", ErrCorrupt)
	}
	body, sum := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return info, nil, fmt.Errorf("snapshot checksum mismatch: %w", ErrCorrupt)
	}
	r := codec.NewReader(body[len(snapshotMagic):])
	if v := r.Uint16(); r.Err() == nil && v != snapshotVersion {
		return info, nil, fmt.Errorf("snapshot version %d: %w", v, ErrUnsupported)
	}
	info.CipherSuite = r.Uint16()
	info.GroupID = r.Opaque()
	info.Epoch = r.Uint64()
	info.EpochAuthenticator = r.Opaque()
	var comps []snapshotComponent
	r.Vector(func(r *codec.Reader) {
		comps = append(comps, snapshotComponent{Kind: Kind(r.Opaque()), Name: string(r.Opaque()), Value: r.Opaque()})
	})
	if err := r.Finish(); err != nil {
		return info, nil, fmt.Errorf("snapshot: %w: %w", ErrCorrupt, err)
	}
	for _, c := range comps {
		switch c.Kind {
		case KindState, KindKeys, KindEpochSecrets:
		default:
			return info, nil, fmt.Errorf("snapshot component kind %q: %w", c.Kind, ErrCorrupt)
		}
	}
	info.Components = len(comps)
	info.Size = len(data)
	info.SHA256 = bytes.Clone(sum)
	return info, comps, nil
}

// ImportSnapshot verifies a GroupSnapshot and stores its group in st in one
// batch, marked "restored at epoch E": [Group.Encrypt] fails with
// [ErrRestoredEpoch] until the member reaches a new epoch, because the
// snapshot cannot tell which generations were used after it was taken.
// If the group is already stored, ImportSnapshot fails with
// [ErrGroupExists] unless force is set, in which case the stored group is
// replaced.
func ImportSnapshot(ctx context.Context, st Storage, data []byte, force bool) (SnapshotInfo, error) {
	info, comps, err := parseSnapshot(data)
	if err != nil {
		return info, fmt.Errorf("import snapshot: %w", err)
	}
	gid := info.GroupID
	// Stage in memory and load it back: the snapshot must describe a
	// complete, consistent group at the epoch it claims.
	mem := NewMemStorage()
	stage := &Batch{Op: "ImportSnapshot", Group: gid}
	for _, c := range comps {
		stage.Puts = append(stage.Puts, Put{Key: Key{Group: gid, Kind: c.Kind, Name: c.Name}, Value: c.Value})
	}
	if err := mem.Apply(ctx, stage); err != nil {
		return info, fmt.Errorf("import snapshot: %w", err)
	}
	s, err := loadState(ctx, mem, gid, Options{}.withDefaults())
	if err != nil {
		return info, fmt.Errorf("import snapshot: %w", err)
	}
	if s.gc.Epoch != info.Epoch || uint16(s.cs.ID()) != info.CipherSuite || !bytes.Equal(s.epoch.EpochAuthenticator, info.EpochAuthenticator) {
		return info, fmt.Errorf("import snapshot: header does not match contents: %w", ErrCorrupt)
	}
	s.restored = true
	b := &Batch{Op: "ImportSnapshot", Group: gid}
	if _, err := st.Get(ctx, Key{Group: gid, Kind: KindState, Name: nameContext}); err == nil {
		if !force {
			return info, fmt.Errorf("import snapshot %x: %w", gid, ErrGroupExists)
		}
		old, err := deleteGroupBatch(ctx, st, "ImportSnapshot", gid)
		if err != nil {
			return info, fmt.Errorf("import snapshot: %w", err)
		}
		put := map[string]bool{}
		for _, c := range comps {
			put[string(c.Kind)+"/"+c.Name] = true
		}
		for _, k := range old.Deletes {
			if !put[string(k.Kind)+"/"+k.Name] {
				b.Deletes = append(b.Deletes, k)
			}
		}
	} else if !errors.Is(err, ErrNotFound) {
		return info, fmt.Errorf("import snapshot: %w", err)
	}
	for _, p := range stage.Puts {
		if p.Key.Kind == KindState && p.Key.Name == nameContext {
			p.Value = s.contextRecord()
		}
		b.Puts = append(b.Puts, p)
	}
	if err := st.Apply(ctx, b); err != nil {
		return info, fmt.Errorf("import snapshot: store: %w", err)
	}
	return info, nil
}

// Snapshot is [ExportSnapshot] of this group, taken under the group's lock
// so that no transition of g runs while its components are read.
func (g *Group) Snapshot(ctx context.Context) ([]byte, SnapshotInfo, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.usable(); err != nil {
		return nil, SnapshotInfo{}, err
	}
	return ExportSnapshot(ctx, g.st, g.id)
}
