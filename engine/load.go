package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/secrettree"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/tree"
)

// newStoredGroup persists a freshly created or joined state in full, with
// the Puts and Deletes of extra, and returns the group.
// If the group is already stored, it fails with [ErrGroupExists] unless
// replace is set, in which case the stale components are deleted in the
// same batch.
func newStoredGroup(ctx context.Context, st Storage, s *groupState, opts Options, op string, replace bool, call *attachCall, extra Batch) (*Group, error) {
	if err := s.startLeases(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	b, err := stateBatch(op, nil, s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if _, err := st.Get(ctx, Key{Group: s.gc.GroupID, Kind: KindState, Name: nameContext}); err == nil {
		if !replace {
			return nil, fmt.Errorf("%s: group %x: %w", op, s.gc.GroupID, ErrGroupExists)
		}
		old, err := deleteGroupBatch(ctx, st, op, s.gc.GroupID)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		written := map[string]bool{}
		for _, p := range b.Puts {
			written[string(p.Key.Kind)+"/"+p.Key.Name] = true
		}
		for _, k := range old.Deletes {
			if !written[string(k.Kind)+"/"+k.Name] {
				b.Deletes = append(b.Deletes, k)
			}
		}
	}
	b.Puts = append(b.Puts, extra.Puts...)
	b.Deletes = append(b.Deletes, extra.Deletes...)
	if err := call.extend(b, s, false); err != nil {
		return nil, err
	}
	if err := st.Apply(ctx, b); err != nil {
		return nil, fmt.Errorf("%s: store: %w", op, err)
	}
	s.committed()
	return &Group{st: st, id: append([]byte(nil), s.gc.GroupID...), opts: opts, s: s}, nil
}

// LoadGroup loads the group groupID from st, as the last applied batch left
// it, and returns it ready to continue. Sending resumes past the stored
// generation leases, so no key is reused after a crash.
func LoadGroup(ctx context.Context, st Storage, groupID []byte, opts Options) (*Group, error) {
	opts = opts.withDefaults()
	s, err := loadState(ctx, st, groupID, opts)
	if err != nil {
		return nil, fmt.Errorf("load group %x: %w", groupID, err)
	}
	return &Group{st: st, id: append([]byte(nil), groupID...), opts: opts, s: s}, nil
}

func getComponent(ctx context.Context, st Storage, gid []byte, kind Kind, name string) ([]byte, error) {
	b, err := st.Get(ctx, Key{Group: gid, Kind: kind, Name: name})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%s/%s missing: %w: %w", kind, name, ErrCorrupt, err)
		}
		return nil, fmt.Errorf("read %s/%s: %w", kind, name, err)
	}
	return b, nil
}

func loadState(ctx context.Context, st Storage, gid []byte, opts Options) (*groupState, error) {
	b, err := getComponent(ctx, st, gid, KindState, nameContext)
	if err != nil {
		return nil, err
	}
	var cr contextRecord
	if err := codec.Unmarshal(b, &cr); err != nil {
		return nil, fmt.Errorf("context: %w: %w", ErrCorrupt, err)
	}
	cs, err := opts.Suites.Get(suite.ID(cr.Suite))
	if err != nil {
		return nil, fmt.Errorf("context: %w", typed(err))
	}
	t, err := readTree(ctx, st, gid, cs, cr)
	if err != nil {
		return nil, err
	}
	s := &groupState{cs: cs, gc: cr.GC, interim: cr.Interim, tag: cr.Tag, tree: t, restored: cr.Restored, legacyTree: cr.legacyTree, ids: newIdentityCache()}
	if b, err = getComponent(ctx, st, gid, KindKeys, namePath); err != nil {
		return nil, err
	}
	var keys tree.PrivateKeys
	if err := codec.Unmarshal(b, &keys); err != nil {
		return nil, fmt.Errorf("private keys: %w: %w", ErrCorrupt, err)
	}
	s.keys = &keys
	if s.sigPriv, err = getComponent(ctx, st, gid, KindKeys, nameSignature); err != nil {
		return nil, err
	}
	if b, err = getComponent(ctx, st, gid, KindState, nameProposals); err != nil {
		return nil, err
	}
	if s.proposals, err = decodeProposals(b); err != nil {
		return nil, err
	}
	if b, err = st.Get(ctx, Key{Group: gid, Kind: KindKeys, Name: namePending}); err == nil {
		var pc pendingCommit
		if err := codec.Unmarshal(b, &pc); err != nil {
			return nil, fmt.Errorf("pending commit: %w: %w", ErrCorrupt, err)
		}
		s.pending = &pc
	} else if !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("read pending commit: %w", err)
	}
	if err := s.loadEpochs(ctx, st, gid, opts); err != nil {
		return nil, err
	}
	return s, nil
}

// loadEpochs reads the current and retained epoch records and moves the
// own ratchets past their leases.
func (s *groupState) loadEpochs(ctx context.Context, st Storage, gid []byte, opts Options) error {
	names, err := st.List(ctx, gid, KindEpochSecrets)
	if err != nil {
		return fmt.Errorf("list epochs: %w", err)
	}
	var epochs []uint64
	ratchets := map[uint64][]string{}
	for _, n := range names {
		if e, ok := parseEpochName(n); ok && e <= s.gc.Epoch {
			epochs = append(epochs, e)
		} else if e, _, ok := parseRatchetName(n); ok {
			ratchets[e] = append(ratchets[e], n)
		}
	}
	sort.Slice(epochs, func(i, j int) bool { return epochs[i] < epochs[j] })
	found := false
	for _, e := range epochs {
		b, err := getComponent(ctx, st, gid, KindEpochSecrets, epochName(e))
		if err != nil {
			return err
		}
		var leaves [][]byte
		for _, n := range ratchets[e] {
			v, err := getComponent(ctx, st, gid, KindEpochSecrets, n)
			if err != nil {
				return err
			}
			leaves = append(leaves, v)
		}
		current := e == s.gc.Epoch
		rec, ep, sec, err := decodeEpoch(b, leaves, current)
		if err != nil {
			return fmt.Errorf("epoch %d: %w", e, err)
		}
		if !current {
			s.past = append(s.past, &pastEpoch{gc: rec.GC, epoch: ep, secrets: sec, retired: rec.Retired})
			continue
		}
		found = true
		s.epoch, s.secrets, s.lease = ep, sec, rec.Lease
		me := uint32(s.me())
		for i, ct := range []secrettree.ContentType{secrettree.Handshake, secrettree.Application} {
			if err := sec.AdvanceTo(me, ct, s.lease[i]); err != nil {
				return fmt.Errorf("advance past lease: %w: %w", ErrCorrupt, err)
			}
		}
		// The advance stays in the change set: the next write stores the
		// header and this member's ratchet records together.
	}
	if !found {
		return fmt.Errorf("secrets of current epoch %d missing: %w", s.gc.Epoch, ErrCorrupt)
	}
	return nil
}
