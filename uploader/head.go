package uploader

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Head object format; see doc.go, "Chain and head".
const (
	// HeadFormat is the "format" of a head's payload.
	HeadFormat = "mlsbackup-head"
	// HeadVersion is the version of a head's payload.
	HeadVersion = 1
	// maxHeadSize bounds what is read of a head object (about 200 bytes
	// per group, in base64: a million groups).
	maxHeadSize = 512 << 20
)

// Head is a signed statement of the newest manifest of every group of a
// prefix, as its writer knew them when it wrote the head.
type Head struct {
	// Key is the head object's key; Sequence its place in the prefix.
	Key      string
	Sequence uint64
	// Written is when the writer wrote it (the writer's clock).
	Written time.Time
	// AgentID is the writer's agent id; Signer its verified signer.
	AgentID string
	Signer  Signer
	// Groups maps a group id in lower-case hex to its newest manifest.
	Groups map[string]HeadEntry
}

// HeadEntry names a group's newest manifest in a [Head].
type HeadEntry struct {
	// Sequence and SHA256 are the manifest's sequence and payload digest.
	Sequence uint64
	SHA256   [32]byte
	// Epoch and ID are those of its key.
	Epoch uint64
	ID    string
}

// entryOf returns the head entry that names m.
func entryOf(m Manifest) HeadEntry {
	return HeadEntry{Sequence: m.Sequence, SHA256: m.PayloadSHA256, Epoch: m.Epoch, ID: m.ID}
}

// link returns the link to the manifest e names.
func (e HeadEntry) link() Link { return Link{Sequence: e.Sequence, SHA256: e.SHA256} }

type wireHead struct {
	Format   string                   `json:"format"`
	Version  int                      `json:"version"`
	Prefix   string                   `json:"prefix"`
	Key      string                   `json:"key"`
	Sequence uint64                   `json:"sequence"`
	Written  time.Time                `json:"written"`
	AgentID  string                   `json:"agent_id"`
	Groups   map[string]wireHeadEntry `json:"groups"`
}

type wireHeadEntry struct {
	Sequence uint64 `json:"sequence"`
	SHA256   string `json:"sha256"`
	Epoch    uint64 `json:"epoch"`
	ID       string `json:"id"`
}

// encodeHead signs h with c's key and returns the head object.
func (c codec) encodeHead(h Head) ([]byte, error) {
	w := wireHead{Format: HeadFormat, Version: HeadVersion, Prefix: c.layout.prefix, Key: c.layout.rel(h.Key),
		Sequence: h.Sequence, Written: h.Written.UTC(), AgentID: h.AgentID, Groups: make(map[string]wireHeadEntry, len(h.Groups))}
	for g, e := range h.Groups {
		w.Groups[g] = wireHeadEntry{Sequence: e.Sequence, SHA256: hex.EncodeToString(e.SHA256[:]), Epoch: e.Epoch, ID: e.ID}
	}
	payload, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("encode head: %w", err)
	}
	return seal(c.key, payload, nil)
}

// decodeHead parses and checks the head object read from key, whose key
// names sequence seq. Errors are [*CheckError]s.
func (c codec) decodeHead(data []byte, key string, seq uint64) (*Head, error) {
	w, err := decodeObject(data)
	if err != nil {
		return nil, err
	}
	if !w.signed() {
		return nil, checkErr(CheckEnvelope, ErrBadManifest, "format %q, want %q", w.Format, EnvelopeFormat)
	}
	signer, payload, err := w.open(c.trusted, [32]byte{}, nil)
	if err != nil {
		return nil, err
	}
	if w.Inline != nil {
		return nil, checkErr(CheckEnvelope, ErrBadManifest, "a head carries no snapshot")
	}
	var p wireHead
	if err := json.NewDecoder(bytes.NewReader(payload)).Decode(&p); err != nil {
		return nil, checkErr(CheckPayload, ErrBadManifest, "not JSON: %v", err)
	}
	switch {
	case p.Format != HeadFormat || p.Version != HeadVersion:
		return nil, checkErr(CheckPayload, ErrBadManifest, "payload is %q version %d, want %q version %d", p.Format, p.Version, HeadFormat, HeadVersion)
	case p.Prefix != c.layout.prefix || p.Key != c.layout.rel(key) || p.Sequence != seq:
		return nil, checkErr(CheckLocation, ErrCorrupt, "head %d signed for %q in prefix %q, found at %q in prefix %q (moved or replayed)",
			p.Sequence, p.Key, p.Prefix, c.layout.rel(key), c.layout.prefix)
	}
	h := &Head{Key: key, Sequence: p.Sequence, Written: p.Written, AgentID: p.AgentID, Signer: signer,
		Groups: make(map[string]HeadEntry, len(p.Groups))}
	for g, we := range p.Groups {
		e := HeadEntry{Sequence: we.Sequence, Epoch: we.Epoch, ID: we.ID}
		if err := decodeDigest(we.SHA256, &e.SHA256); err != nil || e.Sequence == 0 {
			return nil, checkErr(CheckPayload, ErrBadManifest, "group %s: bad entry", g)
		}
		h.Groups[g] = e
	}
	return h, nil
}

// headKeys lists the prefix's head objects, newest (highest sequence)
// first. Keys under heads/ that are not head keys are left out.
func (b *Backup) headKeys(ctx context.Context) ([]uint64, error) {
	objs, err := b.store.List(ctx, b.layout.headsPrefix())
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", b.layout.headsPrefix(), err)
	}
	var seqs []uint64
	for _, o := range objs {
		if seq, ok := b.layout.parseHeadKey(o.Key); ok {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	slices.Reverse(seqs)
	return seqs, nil
}

// readHeadAt reads and checks the head of sequence seq.
func (b *Backup) readHeadAt(ctx context.Context, seq uint64) (*Head, error) {
	key := b.layout.headKey(seq)
	data, err := b.readObject(ctx, key, maxHeadSize)
	if err != nil {
		return nil, objErr("read head", key, err)
	}
	h, err := b.codec.decodeHead(data, key, seq)
	if err != nil {
		return nil, objErr("read head", key, err)
	}
	return h, nil
}

// HeadAt reads and checks the head stored under key, which must be a
// head key of this backup set's layout.
func (b *Backup) HeadAt(ctx context.Context, key string) (*Head, error) {
	seq, ok := b.layout.parseHeadKey(key)
	if !ok {
		return nil, objErr("read head", key, errors.New("not a head key of this backup set"))
	}
	return b.readHeadAt(ctx, seq)
}

// ReadHead returns the newest head of the prefix that verifies, or nil
// if the prefix has none. Every newer head object that does not verify
// (damaged, unsigned, untrusted, moved) is reported in the error, which
// joins one [*ObjectError] per such object; the head returned is then
// still the newest valid one. A listing error returns no head.
func (b *Backup) ReadHead(ctx context.Context) (*Head, error) {
	seqs, err := b.headKeys(ctx)
	if err != nil {
		return nil, err
	}
	var bad []error
	for _, seq := range seqs {
		h, err := b.readHeadAt(ctx, seq)
		if err == nil {
			return h, errors.Join(bad...)
		}
		if FailedCheck(err) == CheckDownload {
			return nil, errors.Join(append(bad, err)...)
		}
		bad = append(bad, err)
	}
	return nil, errors.Join(bad...)
}
