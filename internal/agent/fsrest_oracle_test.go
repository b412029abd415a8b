package agent

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/framing"
	"github.com/mlsbackup/mlsbackup/engine/keyschedule"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/treemath"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// The oracle of the forward-secrecy history test: what the members'
// stored records revealed of each epoch's secrets, derived as RFC 9420 §9
// derives them, independently of the engine's code. Every value it knows
// was once in some member's stored components (read after every step) or
// follows from one by the secret tree's derivations; a value a member's
// step made unusable must then be in none of that member's files.

// ratchetID names one ratchet of an epoch: a leaf and a content type (0
// handshake, 1 application).
type ratchetID struct {
	leaf uint32
	ct   uint8
}

// epochKnowledge is what the oracle knows of one epoch of the group.
type epochKnowledge struct {
	cs         *suite.Suite
	leaves     uint32
	senderData []byte
	// once are the secrets only the epoch's current state holds (init,
	// exporter, external, confirmation, membership).
	once [][]byte
	// kept are the secrets a past epoch keeps (sender data, resumption).
	kept [][]byte
	// nodes are node secrets seen in any member's record.
	nodes map[uint32][]byte
	// ratchets are the ratchet positions seen in any member's record:
	// generation → secret.
	ratchets map[ratchetID]map[uint32][]byte
	// retained are stored keys and nonces of skipped generations.
	retained [][]byte
	// maxGen is the highest generation stored or used.
	maxGen uint32
	// checked counts derivations the oracle compared with a stored value.
	checked int
	// chains caches each ratchet's secrets by generation (nil where
	// unknown), valid while version is chainsVersion.
	chains                 map[ratchetID][][]byte
	version, chainsVersion int
}

// oracle collects the epochs of one group.
type oracle struct {
	t      *testing.T
	epochs map[uint64]*epochKnowledge
}

func newOracle(t *testing.T) *oracle { return &oracle{t: t, epochs: map[uint64]*epochKnowledge{}} }

// learn reads a member's stored components (keyed "<group>/<kind>/<name>"
// as localstore's Dump gives them) of group gh: its epoch records and
// ratchet records. It returns the member's current epoch (its newest
// record) and the HPKE private keys it holds, and false if it stores the
// group no more.
func (o *oracle) learn(gh string, comps map[string][]byte) (uint64, [][]byte, bool) {
	o.t.Helper()
	prefix := gh + "/epoch_secrets/"
	var current uint64
	found := false
	for k, v := range comps {
		name, ok := strings.CutPrefix(k, prefix)
		if !ok || !strings.HasPrefix(name, "epoch_") {
			continue
		}
		e := o.learnEpoch(v)
		if !found || e > current {
			current, found = e, true
		}
	}
	for k, v := range comps {
		name, ok := strings.CutPrefix(k, prefix)
		if !ok || !strings.HasPrefix(name, "ratchet_") {
			continue
		}
		var e uint64
		var leaf uint32
		if _, err := fmt.Sscanf(name, "ratchet_%d_%d.bin", &e, &leaf); err != nil {
			o.t.Fatalf("ratchet record name %q: %v", name, err)
		}
		o.learnRatchets(e, v)
	}
	var keys [][]byte
	if b, ok := comps[gh+"/keys/path"]; ok {
		var pk tree.PrivateKeys
		if err := codec.Unmarshal(b, &pk); err != nil {
			o.t.Fatalf("keys/path: %v", err)
		}
		for _, x := range pk.Nodes() {
			kp, _ := pk.Key(x)
			keys = append(keys, kp.Priv)
		}
	}
	return current, keys, found
}

// learnEpoch reads an epoch record (engine/doc.go, "Stored components").
func (o *oracle) learnEpoch(b []byte) uint64 {
	o.t.Helper()
	r := codec.NewReader(b)
	r.Uint8()
	var gc wire.GroupContext
	gc.UnmarshalTLS(r)
	secrets, header := r.Opaque(), r.Opaque()
	if err := r.Err(); err != nil {
		o.t.Fatalf("epoch record: %v", err)
	}
	var ep keyschedule.Epoch
	if err := ep.UnmarshalBinary(secrets); err != nil {
		o.t.Fatalf("epoch secrets: %v", err)
	}
	ek := o.epoch(gc.Epoch, uint16(gc.CipherSuite))
	ek.senderData = ep.SenderDataSecret
	for _, s := range [][]byte{ep.InitSecret, ep.ExporterSecret, ep.ExternalSecret, ep.ConfirmationKey, ep.MembershipKey} {
		if !isZero(s) {
			ek.once = appendNew(ek.once, s)
		}
	}
	ek.kept = appendNew(appendNew(ek.kept, ep.SenderDataSecret), ep.ResumptionPSK)
	// The secret tree's header (package secrettree's doc): version, suite,
	// leaf count, two bounds, then the stored nodes.
	hr := codec.NewReader(header)
	hr.Uint8()
	hr.Uint16()
	ek.leaves = hr.Uint32()
	hr.Uint32()
	hr.Uint32()
	hr.Vector(func(r *codec.Reader) {
		x, sec := r.Uint32(), r.Opaque()
		if r.Err() == nil {
			o.note(ek, "node", ek.nodeSecret(x), sec)
			if _, ok := ek.nodes[x]; !ok {
				ek.nodes[x] = bytes.Clone(sec)
				ek.version++
			}
		}
	})
	if err := hr.Err(); err != nil {
		o.t.Fatalf("secret tree header: %v", err)
	}
	return gc.Epoch
}

// learnRatchets reads one leaf's ratchet record of epoch e.
func (o *oracle) learnRatchets(e uint64, b []byte) {
	o.t.Helper()
	ek, ok := o.epochs[e]
	if !ok {
		o.t.Fatalf("ratchet record of epoch %d without its epoch record", e)
	}
	r := codec.NewReader(b)
	leaf := r.Uint32()
	for ct := range uint8(2) {
		next, sec := r.Uint64(), r.Opaque()
		r.Vector(func(r *codec.Reader) {
			g, key, nonce := r.Uint32(), r.Opaque(), r.Opaque()
			if r.Err() == nil {
				ek.retained = appendNew(appendNew(ek.retained, key), nonce)
				ek.maxGen = max(ek.maxGen, g)
			}
		})
		if r.Err() != nil || len(sec) == 0 {
			continue
		}
		id := ratchetID{leaf, ct}
		o.note(ek, "ratchet", ek.ratchetSecret(id, uint32(next)), sec)
		if ek.ratchets[id] == nil {
			ek.ratchets[id] = map[uint32][]byte{}
		}
		if _, ok := ek.ratchets[id][uint32(next)]; !ok {
			ek.ratchets[id][uint32(next)] = bytes.Clone(sec)
			ek.maxGen = max(ek.maxGen, uint32(next))
			ek.version++
		}
	}
	if err := r.Err(); err != nil {
		o.t.Fatalf("ratchet record: %v", err)
	}
}

// note checks a stored value against what the oracle derives for its
// position, if it can.
func (o *oracle) note(ek *epochKnowledge, what string, derived, stored []byte) {
	o.t.Helper()
	if derived == nil {
		return
	}
	if !bytes.Equal(derived, stored) {
		o.t.Fatalf("the oracle derives a %s secret that differs from the stored one: its derivation is wrong", what)
	}
	ek.checked++
}

func (o *oracle) epoch(e uint64, cs uint16) *epochKnowledge {
	o.t.Helper()
	if ek, ok := o.epochs[e]; ok {
		return ek
	}
	s, err := suite.New(suite.ID(cs))
	if err != nil {
		o.t.Fatal(err)
	}
	ek := &epochKnowledge{cs: s, nodes: map[uint32][]byte{}, ratchets: map[ratchetID]map[uint32][]byte{}, chains: map[ratchetID][][]byte{}}
	o.epochs[e] = ek
	return ek
}

// nodeSecret derives the secret of node x from the nearest stored node
// above it (or x itself), or returns nil if no stored node covers it.
func (ek *epochKnowledge) nodeSecret(x uint32) []byte {
	if ek.leaves == 0 {
		return nil
	}
	path := ek.path(x)
	for i := len(path) - 1; i >= 0; i-- {
		sec, ok := ek.nodes[path[i]]
		if !ok {
			continue
		}
		for j := i; j+1 < len(path); j++ {
			dir := "right"
			if l, _ := treemath.Left(treemath.NodeIndex(path[j])); uint32(l) == path[j+1] {
				dir = "left"
			}
			sec = ek.cs.ExpandWithLabel(sec, "tree", []byte(dir), ek.cs.Nh())
		}
		return sec
	}
	return nil
}

// path returns the nodes from the root down to x.
func (ek *epochKnowledge) path(x uint32) []uint32 {
	n := treemath.Root(ek.leaves)
	out := []uint32{uint32(n)}
	for uint32(n) != x && treemath.Level(n) > 0 {
		if x < uint32(n) {
			n, _ = treemath.Left(n)
		} else {
			n, _ = treemath.Right(n)
		}
		out = append(out, uint32(n))
	}
	return out
}

// ratchetSecret returns the secret of generation gen of ratchet id,
// derived from the leaf's node secret or the nearest stored position at
// or below gen; nil if neither is known.
func (ek *epochKnowledge) ratchetSecret(id ratchetID, gen uint32) []byte {
	return ek.chain(id, gen)[gen]
}

// chain returns the secrets of ratchet id for generations 0..upto (nil
// where unknown).
func (ek *epochKnowledge) chain(id ratchetID, upto uint32) [][]byte {
	if ek.chainsVersion != ek.version {
		clear(ek.chains)
		ek.chainsVersion = ek.version
	}
	if c := ek.chains[id]; uint32(len(c)) > upto {
		return c
	}
	c := make([][]byte, upto+1)
	var sec []byte
	if leaf := ek.nodeSecret(2 * id.leaf); leaf != nil {
		label := "handshake"
		if id.ct == 1 {
			label = "application"
		}
		sec = ek.cs.ExpandWithLabel(leaf, label, nil, ek.cs.Nh())
	}
	for g := uint32(0); g <= upto; g++ {
		if sec == nil {
			sec = ek.ratchets[id][g]
		}
		c[g] = sec
		if sec != nil {
			sec = ek.cs.DeriveTreeSecret(sec, "secret", g, ek.cs.Nh())
		}
	}
	ek.chains[id] = c
	return c
}

// ancestors returns every value the oracle knows from which the key of
// generation gen of ratchet id derives: the key and nonce themselves, the
// ratchet's secrets of generations up to gen, the leaf's secret and those
// of the nodes above it. It reports whether the key itself is known.
func (ek *epochKnowledge) ancestors(id ratchetID, gen uint32) ([][]byte, bool) {
	var out [][]byte
	for _, x := range ek.path(2 * id.leaf) {
		if s := ek.nodeSecret(x); s != nil {
			out = append(out, s)
		}
	}
	c := ek.chain(id, gen)[:gen+1]
	for _, s := range c {
		if s != nil {
			out = append(out, s)
		}
	}
	if c[gen] == nil {
		return out, false
	}
	out = append(out,
		ek.cs.DeriveTreeSecret(c[gen], "key", gen, ek.cs.KeySize()),
		ek.cs.DeriveTreeSecret(c[gen], "nonce", gen, ek.cs.NonceSize()))
	return out, true
}

// everything returns every value of the epoch the oracle knows or derives
// (ratchet generations up to maxGen and a window past it): for an epoch a
// member no longer keeps.
func (ek *epochKnowledge) everything() [][]byte {
	maxGen := ek.maxGen + 80
	out := append(append(append([][]byte(nil), ek.once...), ek.kept...), ek.retained...)
	for x := range ek.nodes {
		out = append(out, ek.nodes[x])
	}
	for leaf := range ek.leaves {
		for ct := range uint8(2) {
			id := ratchetID{leaf, ct}
			if k, _ := ek.ancestors(id, maxGen); k != nil {
				out = append(out, k...)
			}
		}
	}
	return out
}

// sentKey returns the epoch, sender leaf and generation of a
// PrivateMessage, read with the epoch's sender-data secret.
func (o *oracle) sentKey(msg []byte) (uint64, uint32, uint32) {
	o.t.Helper()
	m, err := wire.ParseMLSMessage(msg, 0)
	if err != nil || m.PrivateMessage == nil {
		o.t.Fatalf("not a PrivateMessage: %v", err)
	}
	pm := m.PrivateMessage
	ek, ok := o.epochs[pm.Epoch]
	if !ok || ek.senderData == nil {
		o.t.Fatalf("message of epoch %d, which no stored record showed", pm.Epoch)
	}
	sd, err := framing.OpenSenderData(ek.cs, ek.senderData, pm)
	if err != nil {
		o.t.Fatalf("sender data: %v", err)
	}
	return pm.Epoch, sd.LeafIndex, sd.Generation
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// appendNew appends v to list unless it is there already.
func appendNew(list [][]byte, v []byte) [][]byte {
	for _, x := range list {
		if bytes.Equal(x, v) {
			return list
		}
	}
	return append(list, bytes.Clone(v))
}

// needles is a set of byte strings searched for in files, each with the
// step since which it is unusable.
type needles struct {
	byPrefix map[uint64][]needle
	n        int
}

type needle struct {
	v []byte
	f fsForbidden
}

func newNeedles() *needles { return &needles{byPrefix: map[uint64][]needle{}} }

// add adds v (at least 8 bytes).
func (ns *needles) add(v []byte, f fsForbidden) {
	if len(v) < 8 {
		return
	}
	p := binary.LittleEndian.Uint64(v)
	ns.byPrefix[p] = append(ns.byPrefix[p], needle{v: v, f: f})
	ns.n++
}

// find returns the description of the first needle in data for which
// match holds, or "".
func (ns *needles) find(data []byte, match func(fsForbidden) bool) string {
	if ns.n == 0 {
		return ""
	}
	for i := 0; i+8 <= len(data); i++ {
		for _, x := range ns.byPrefix[binary.LittleEndian.Uint64(data[i:])] {
			if match(x.f) && bytes.HasPrefix(data[i:], x.v) {
				return fmt.Sprintf("%s [%x at offset %d of %d]", x.f.what, x.v, i, len(data))
			}
		}
	}
	return ""
}
