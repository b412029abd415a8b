package engine

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/keyschedule"
	"github.com/mlsbackup/mlsbackup/engine/secrettree"
	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// Component names within a group (see doc.go for the layout).
const (
	nameContext    = "context"
	nameProposals  = "proposals"
	nameSignature  = "signature"
	namePath       = "path"
	namePending    = "pending_commit"
	epochPrefix    = "epoch_"
	epochSuffix    = ".bin"
	recordVersion1 = 1
	// recordVersion2 is the epoch record with the retired signature keys.
	recordVersion2 = 2
)

// ratchetPrefix names the per-leaf secret-tree records of an epoch:
// ratchet_<epoch>_<leaf>.bin, so a message rewrites one small record.
const ratchetPrefix = "ratchet_"

func ratchetName(e uint64, leaf uint32) string {
	b := make([]byte, 0, len(ratchetPrefix)+20+1+10+len(epochSuffix))
	b = append(b, ratchetPrefix...)
	b = appendPadded(b, e, 20)
	b = append(b, '_')
	b = appendPadded(b, uint64(leaf), 10)
	return string(append(b, epochSuffix...))
}

// appendPadded appends v in decimal, zero-padded to width digits (the
// %0<width>d of fmt, without its cost on the per-message path).
func appendPadded(b []byte, v uint64, width int) []byte {
	var d [20]byte
	s := strconv.AppendUint(d[:0], v, 10)
	for range width - len(s) {
		b = append(b, '0')
	}
	return append(b, s...)
}

// parseRatchetName returns the epoch and leaf of a ratchet record name.
func parseRatchetName(name string) (uint64, uint32, bool) {
	rest, ok := strings.CutPrefix(name, ratchetPrefix)
	if !ok {
		return 0, 0, false
	}
	rest, ok = strings.CutSuffix(rest, epochSuffix)
	if !ok {
		return 0, 0, false
	}
	es, ls, ok := strings.Cut(rest, "_")
	if !ok {
		return 0, 0, false
	}
	e, err1 := strconv.ParseUint(es, 10, 64)
	l, err2 := strconv.ParseUint(ls, 10, 32)
	return e, uint32(l), err1 == nil && err2 == nil
}

func epochName(e uint64) string {
	return string(append(appendPadded([]byte(epochPrefix), e, 20), epochSuffix...))
}

// parseEpochName returns the epoch number of an epoch record name.
func parseEpochName(name string) (uint64, bool) {
	if !strings.HasPrefix(name, epochPrefix) || !strings.HasSuffix(name, epochSuffix) {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, epochPrefix), epochSuffix), 10, 64)
	return n, err == nil
}

// contextRecord is the state/context component.
type contextRecord struct {
	Suite    uint16
	GC       wire.GroupContext
	Interim  []byte
	Tag      []byte
	Leaf     uint32
	Width    uint32
	Restored bool
	// legacyTree: the record is version 1, whose tree is stored in layout
	// 1 (see treestore.go); version 2 records use the current layout.
	legacyTree bool
}

func (c contextRecord) MarshalTLS(w *codec.Writer) {
	if c.legacyTree {
		w.Uint8(recordVersion1)
	} else {
		w.Uint8(recordVersion2)
	}
	w.Uint16(c.Suite)
	c.GC.MarshalTLS(w)
	w.Opaque(c.Interim)
	w.Opaque(c.Tag)
	w.Uint32(c.Leaf)
	w.Uint32(c.Width)
	w.Bool(c.Restored)
}

func (c *contextRecord) UnmarshalTLS(r *codec.Reader) {
	v := r.Uint8()
	if r.Err() == nil && v != recordVersion1 && v != recordVersion2 {
		r.Fail(fmt.Errorf("context record version %d: %w", v, codec.ErrInvalid))
		return
	}
	c.legacyTree = v == recordVersion1
	c.Suite = r.Uint16()
	c.GC.UnmarshalTLS(r)
	c.Interim = r.Opaque()
	c.Tag = r.Opaque()
	c.Leaf = r.Uint32()
	c.Width = r.Uint32()
	c.Restored = r.Bool()
}

func (s *groupState) contextRecord() []byte {
	return codec.Marshal(contextRecord{Suite: uint16(s.cs.ID()), GC: s.gc, Interim: s.interim, Tag: s.tag, Leaf: uint32(s.me()), Width: s.tree.Width(), Restored: s.restored, legacyTree: s.legacyTree})
}

// epochRecord is an epoch_secrets/epoch_<N>.bin component: the epoch's
// group context, its secrets (for a past epoch only sender_data_secret,
// resumption_psk and epoch_authenticator; the others are zeros), the
// secret tree, the sender's generation leases and (version 2) the
// signature keys, as of this epoch, of the leaves the commit that ended it
// changed (see pastEpoch.retired). Version 1 records read as having none.
type epochRecord struct {
	GC      wire.GroupContext
	Secrets []byte
	Tree    []byte
	Lease   [2]uint32
	Retired map[uint32][]byte
}

func (e epochRecord) MarshalTLS(w *codec.Writer) {
	w.Uint8(recordVersion2)
	e.GC.MarshalTLS(w)
	w.Opaque(e.Secrets)
	w.Opaque(e.Tree)
	w.Uint32(e.Lease[0])
	w.Uint32(e.Lease[1])
	leaves := slices.Sorted(maps.Keys(e.Retired))
	w.Vector(func(w *codec.Writer) {
		for _, l := range leaves {
			w.Uint32(l)
			w.Opaque(e.Retired[l])
		}
	})
}

func (e *epochRecord) UnmarshalTLS(r *codec.Reader) {
	v := r.Uint8()
	if r.Err() == nil && v != recordVersion1 && v != recordVersion2 {
		r.Fail(fmt.Errorf("epoch record version %d: %w", v, codec.ErrInvalid))
		return
	}
	e.GC.UnmarshalTLS(r)
	e.Secrets = r.Opaque()
	e.Tree = r.Opaque()
	e.Lease[0] = r.Uint32()
	e.Lease[1] = r.Uint32()
	if v != recordVersion2 {
		return
	}
	r.Vector(func(r *codec.Reader) {
		l := r.Uint32()
		k := r.Opaque()
		if r.Err() != nil {
			return
		}
		if _, dup := e.Retired[l]; dup {
			r.Fail(fmt.Errorf("retired key of leaf %d twice: %w", l, codec.ErrInvalid))
			return
		}
		if e.Retired == nil {
			e.Retired = map[uint32][]byte{}
		}
		e.Retired[l] = k
	})
}

func encodeEpoch(gc wire.GroupContext, ep *keyschedule.Epoch, st *secrettree.Tree, lease [2]uint32, retired map[uint32][]byte, nh int) ([]byte, error) {
	e := *ep
	for _, f := range []*[]byte{&e.InitSecret, &e.ExporterSecret, &e.ExternalSecret, &e.ConfirmationKey, &e.MembershipKey} {
		if *f == nil {
			*f = make([]byte, nh) // dropped secret of a past epoch
		}
	}
	sec, err := e.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("encode epoch secrets: %w", err)
	}
	tr, err := st.MarshalHeader()
	if err != nil {
		return nil, fmt.Errorf("encode secret tree: %w", err)
	}
	return codec.Marshal(epochRecord{GC: gc, Secrets: sec, Tree: tr, Lease: lease, Retired: retired}), nil
}

func decodeEpoch(b []byte, leaves [][]byte, current bool) (*epochRecord, *keyschedule.Epoch, *secrettree.Tree, error) {
	var rec epochRecord
	if err := codec.Unmarshal(b, &rec); err != nil {
		return nil, nil, nil, fmt.Errorf("epoch record: %w: %w", ErrCorrupt, err)
	}
	var ep keyschedule.Epoch
	if err := ep.UnmarshalBinary(rec.Secrets); err != nil {
		return nil, nil, nil, fmt.Errorf("epoch secrets: %w: %w", ErrCorrupt, err)
	}
	if !current {
		ep.InitSecret, ep.ExporterSecret, ep.ExternalSecret, ep.ConfirmationKey, ep.MembershipKey = nil, nil, nil, nil, nil
	}
	var st secrettree.Tree
	if err := st.UnmarshalParts(rec.Tree, leaves); err != nil {
		return nil, nil, nil, fmt.Errorf("secret tree: %w: %w", ErrCorrupt, err)
	}
	return &rec, &ep, &st, nil
}

// epochPuts adds to put the records of one epoch that changed: the epoch
// record if all or header is set (or the lease changed), and the ratchet
// records of leaves (every leaf with ratchets if all). retired is set for
// a past epoch only.
func epochPuts(put func(Kind, string, []byte), gc wire.GroupContext, ep *keyschedule.Epoch, st *secrettree.Tree, lease [2]uint32, retired map[uint32][]byte, nh int, all, header bool, leaves []uint32) error {
	if all || header {
		v, err := encodeEpoch(gc, ep, st, lease, retired, nh)
		if err != nil {
			return err
		}
		put(KindEpochSecrets, epochName(gc.Epoch), v)
	}
	if all {
		leaves = st.LeavesWithRatchets()
	}
	for _, l := range leaves {
		if v, ok := st.MarshalLeaf(l); ok {
			put(KindEpochSecrets, ratchetName(gc.Epoch, l), v)
		}
	}
	return nil
}

func (s *groupState) proposalsRecord() []byte {
	var w codec.Writer
	w.Vector(func(w *codec.Writer) {
		for _, p := range s.proposals {
			p.MarshalTLS(w)
		}
	})
	return w.Bytes()
}

func decodeProposals(b []byte) ([]cachedProposal, error) {
	r := codec.NewReader(b)
	var out []cachedProposal
	r.Vector(func(r *codec.Reader) {
		var p cachedProposal
		p.UnmarshalTLS(r)
		out = append(out, p)
	})
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("proposals: %w: %w", ErrCorrupt, err)
	}
	return out, nil
}

func keysRecord(k *tree.PrivateKeys) []byte {
	if k == nil {
		return nil
	}
	return codec.Marshal(k)
}

func pendingRecord(p *pendingCommit) []byte {
	if p == nil {
		return nil
	}
	return codec.Marshal(*p)
}

// stateBatch computes the batch that takes storage from old (nil for a new
// group) to ns: only changed components are written, and epochs beyond the
// retention window are deleted.
func stateBatch(op string, old, ns *groupState) (*Batch, error) {
	gid := ns.gc.GroupID
	b := &Batch{Op: op, Group: gid}
	put := func(kind Kind, name string, v []byte) {
		b.Puts = append(b.Puts, Put{Key: Key{Group: gid, Kind: kind, Name: name}, Value: v})
	}
	del := func(kind Kind, name string) {
		b.Deletes = append(b.Deletes, Key{Group: gid, Kind: kind, Name: name})
	}
	putIfChanged := func(kind Kind, name string, oldV, newV []byte) {
		switch {
		case old != nil && bytes.Equal(oldV, newV):
		case newV == nil:
			del(kind, name)
		default:
			put(kind, name, newV)
		}
	}
	var oldCtx, oldProps, oldKeys, oldPending []byte
	if old != nil {
		oldCtx, oldProps, oldKeys, oldPending = old.contextRecord(), old.proposalsRecord(), keysRecord(old.keys), pendingRecord(old.pending)
	}
	ns.legacyTree = false // this batch stores the tree in the current layout
	putIfChanged(KindState, nameContext, oldCtx, ns.contextRecord())
	putIfChanged(KindState, nameProposals, oldProps, ns.proposalsRecord())
	putIfChanged(KindKeys, namePath, oldKeys, keysRecord(ns.keys))
	if old != nil || ns.pending != nil {
		putIfChanged(KindKeys, namePending, oldPending, pendingRecord(ns.pending))
	}
	if old == nil {
		put(KindKeys, nameSignature, bytes.Clone(ns.sigPriv))
	}
	// Ratchet tree chunks.
	var oldWidth uint32
	if old != nil {
		oldWidth = old.tree.Width()
	}
	legacy := old != nil && old.legacyTree
	chunks, stale := changedTreeChunks(ns.tree, oldWidth, old == nil || legacy)
	if legacy {
		for c := range legacyTreeChunks(oldWidth) {
			del(KindState, legacyTreeChunkName(c))
		}
	}
	for _, c := range stale {
		del(KindState, c.name())
	}
	for _, c := range chunks {
		put(KindState, c.name(), marshalTreeChunk(ns.tree, c))
	}
	// Epoch records.
	nh := ns.cs.Nh()
	header, leaves := ns.secrets.TakeChanges()
	newEpoch := old == nil || old.gc.Epoch != ns.gc.Epoch
	if err := epochPuts(put, ns.gc, ns.epoch, ns.secrets, ns.lease, nil, nh, newEpoch, header || (old != nil && old.lease != ns.lease), leaves); err != nil {
		return nil, err
	}
	keep := map[uint64]bool{ns.gc.Epoch: true}
	for _, p := range ns.past {
		keep[p.gc.Epoch] = true
		newPast := old == nil || old.gc.Epoch == p.gc.Epoch
		if p.dirty || newPast {
			h, ls := p.secrets.TakeChanges()
			if err := epochPuts(put, p.gc, p.epoch, p.secrets, [2]uint32{}, p.retired, nh, old == nil, h || newPast, ls); err != nil {
				return nil, err
			}
		}
	}
	if old != nil {
		retire := func(gc wire.GroupContext, st *secrettree.Tree) {
			if keep[gc.Epoch] {
				return
			}
			del(KindEpochSecrets, epochName(gc.Epoch))
			for _, l := range st.LeavesWithRatchets() {
				del(KindEpochSecrets, ratchetName(gc.Epoch, l))
			}
		}
		retire(old.gc, old.secrets)
		for _, p := range old.past {
			retire(p.gc, p.secrets)
		}
	}
	return b, nil
}

// committed resets change tracking after ns was persisted.
func (s *groupState) committed() {
	s.tree.Mark()
	for _, p := range s.past {
		p.dirty = false
	}
}
