package uploader

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Layout constants; doc.go specifies the layout they build.
const (
	groupsDir    = "groups"
	dataName     = "snapshot.age"
	manifestName = "manifest.json"
	// inlineName is the one object of an inline snapshot: its manifest
	// with the age file inside.
	inlineName = "snapshot.json"
	leaseName  = "agent-lease.json"
	// headsDir holds the prefix's heads, heads/<sequence>.json.
	headsDir = "heads"
	// headDigits is the width of a head's zero-padded sequence.
	headDigits = 20
	// createdLayout is the fixed-width, lexically sortable UTC time in a
	// snapshot's directory name.
	createdLayout = "20060102T150405.000000000Z"
	// MaxGroupIDLen bounds a group id so that keys stay well under S3's
	// 1,024-byte limit.
	MaxGroupIDLen = 256
	epochDigits   = 20
	randHexLen    = 16
)

// Ref identifies one complete snapshot by what its keys say: the group,
// epoch, creation time and the two object keys. It is known from a listing
// alone, without reading the manifest.
type Ref struct {
	GroupID []byte
	Epoch   uint64
	// Created is the creation time recorded in the key (UTC, nanoseconds).
	Created time.Time
	// ID is the snapshot's directory name, "<created>-<random>", unique
	// within a group and epoch.
	ID string
	// Key is the manifest's object key; DataKey the encrypted snapshot's.
	// An inline snapshot (see [Options].InlineMax) is one object: Key
	// names its manifest, which holds the encrypted snapshot, and DataKey
	// is empty.
	Key     string
	DataKey string
}

// Inline reports whether the snapshot is stored inside its manifest.
func (r Ref) Inline() bool { return r.DataKey == "" }

// inlined returns the ref of the same snapshot stored inline.
func (r Ref) inlined() Ref {
	r.Key = strings.TrimSuffix(r.Key, manifestName) + inlineName
	r.DataKey = ""
	return r
}

// LogKeys returns the objects of the snapshot as log attributes: "key",
// the manifest (for an inline snapshot, its one object, snapshot.json),
// and "data_key", the encrypted snapshot, unless it is inline.
func (r Ref) LogKeys() []any {
	if r.Inline() {
		return []any{"key", r.Key}
	}
	return []any{"key", r.Key, "data_key", r.DataKey}
}

// GroupHex returns the group id in lower-case hex, as it appears in keys.
func (r Ref) GroupHex() string { return hex.EncodeToString(r.GroupID) }

// String names the snapshot for messages: group (hex, shortened), epoch, id.
func (r Ref) String() string {
	g := r.GroupHex()
	if len(g) > 16 {
		g = g[:16] + "…"
	}
	return fmt.Sprintf("group %s epoch %d (%s)", g, r.Epoch, r.ID)
}

// compareRefs orders refs by group id (bytes), epoch, creation time, id.
func compareRefs(a, b Ref) int {
	if c := bytes.Compare(a.GroupID, b.GroupID); c != 0 {
		return c
	}
	switch {
	case a.Epoch < b.Epoch:
		return -1
	case a.Epoch > b.Epoch:
		return 1
	}
	if c := a.Created.Compare(b.Created); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// layout computes keys under one prefix.
type layout struct {
	prefix string // normalised: no leading or trailing '/'; may be empty
}

func newLayout(prefix string) layout {
	return layout{prefix: strings.Trim(prefix, "/")}
}

func (l layout) join(parts ...string) string {
	if l.prefix == "" {
		return strings.Join(parts, "/")
	}
	return l.prefix + "/" + strings.Join(parts, "/")
}

// rel returns key relative to the prefix (key itself if the prefix is
// the bucket root), as signed payloads name objects.
func (l layout) rel(key string) string {
	if l.prefix == "" {
		return key
	}
	return strings.TrimPrefix(key, l.prefix+"/")
}

// headsPrefix lists the prefix's heads.
func (l layout) headsPrefix() string { return l.join(headsDir) + "/" }

// headKey is the key of the head of sequence seq.
func (l layout) headKey(seq uint64) string {
	return l.join(headsDir, fmt.Sprintf("%0*d.json", headDigits, seq))
}

// parseHeadKey returns the sequence a head key names; ok is false for a
// key that is not a head key of this prefix.
func (l layout) parseHeadKey(key string) (uint64, bool) {
	name, found := strings.CutPrefix(key, l.headsPrefix())
	if !found {
		return 0, false
	}
	digits, found := strings.CutSuffix(name, ".json")
	if !found || len(digits) != headDigits {
		return 0, false
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || seq == 0 {
		return 0, false
	}
	return seq, true
}

// KeyGroup returns the group id that a snapshot object's key names (its
// "groups/<G>/<E>/<T>-<R>/<file>" part, whatever the prefix), or nil for
// another key.
func KeyGroup(key string) []byte {
	parts := strings.Split(key, "/")
	if len(parts) < 5 || parts[len(parts)-5] != groupsDir {
		return nil
	}
	g, err := hex.DecodeString(parts[len(parts)-4])
	if err != nil || len(g) == 0 {
		return nil
	}
	return g
}

// leaseKey is the key of the prefix's agent lease.
func (l layout) leaseKey() string { return l.join(leaseName) }

// groupsPrefix lists every snapshot object; with a group id, one group's.
func (l layout) groupsPrefix(group []byte) string {
	if len(group) == 0 {
		return l.join(groupsDir) + "/"
	}
	return l.join(groupsDir, hex.EncodeToString(group)) + "/"
}

// newRef names a new snapshot of group at epoch created at t.
func (l layout) newRef(group []byte, epoch uint64, t time.Time) (Ref, error) {
	var rnd [randHexLen / 2]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return Ref{}, fmt.Errorf("snapshot id: %w", err)
	}
	t = t.UTC()
	id := t.Format(createdLayout) + "-" + hex.EncodeToString(rnd[:])
	dir := l.join(groupsDir, hex.EncodeToString(group), fmt.Sprintf("%0*d", epochDigits, epoch), id)
	return Ref{
		GroupID: bytes.Clone(group),
		Epoch:   epoch,
		Created: t,
		ID:      id,
		Key:     dir + "/" + manifestName,
		DataKey: dir + "/" + dataName,
	}, nil
}

// parseKey splits an object key under groupsPrefix(nil) into the snapshot
// it belongs to and the file name within the snapshot's directory. ok is
// false for a key that does not follow the layout. For an inline
// manifest's key (file inlineName) the ref is the inline snapshot's.
func (l layout) parseKey(key string) (ref Ref, file string, ok bool) {
	rest, found := strings.CutPrefix(key, l.groupsPrefix(nil))
	if !found {
		return Ref{}, "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 4 {
		return Ref{}, "", false
	}
	gh, eh, id, file := parts[0], parts[1], parts[2], parts[3]
	group, err := hex.DecodeString(gh)
	if err != nil || len(group) == 0 || len(group) > MaxGroupIDLen || gh != strings.ToLower(gh) {
		return Ref{}, "", false
	}
	if len(eh) != epochDigits {
		return Ref{}, "", false
	}
	epoch, err := strconv.ParseUint(eh, 10, 64)
	if err != nil {
		return Ref{}, "", false
	}
	ts, rnd, found := strings.Cut(id, "-")
	if !found || len(rnd) != randHexLen {
		return Ref{}, "", false
	}
	if _, err := hex.DecodeString(rnd); err != nil || rnd != strings.ToLower(rnd) {
		return Ref{}, "", false
	}
	created, err := time.Parse(createdLayout, ts)
	if err != nil || created.Format(createdLayout) != ts {
		return Ref{}, "", false
	}
	dir := strings.TrimSuffix(key, file)
	ref = Ref{
		GroupID: group,
		Epoch:   epoch,
		Created: created,
		ID:      id,
		Key:     dir + manifestName,
		DataKey: dir + dataName,
	}
	if file == inlineName {
		ref = ref.inlined()
	}
	return ref, file, true
}
