package agent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/config"
)

// The outbox (a transactional outbox): every mutating call stores its
// answer — the outgoing messages of a send or commit, the plaintext of a
// receive — in the same atomic batch as the state change that produced it
// (engine.Attach), so a process killed between the change and the answer
// loses nothing: the application finds the answer with GET /v1/outbox, or
// gets it again by retrying the call with the same idempotency key (for a
// receive: the same message). Entries stay until the application
// acknowledges them (POST /v1/outbox/ack) or agent.outbox_keep drops them.
//
// An entry is the client-level component outbox/<seq>-<key>: seq is 16 hex
// digits, increasing (the creation time in Unix nanoseconds, or the
// previous seq plus one), so names sort oldest first; key is 32 hex digits
// of SHA-256 over the idempotency key, the received message, or random
// bytes for a call without either. The value is an [outboxRecord] in JSON.

// outboxKind is the component kind of outbox entries.
const outboxKind engine.Kind = "outbox"

// MaxIdempotencyKey bounds the length of an Idempotency-Key.
const MaxIdempotencyKey = 255

// ErrIdempotencyKeyReused means an idempotency key was used before for a
// different request.
var ErrIdempotencyKeyReused = errors.New("agent: idempotency key already used for a different request")

// OutboxEntry is one stored answer the application has not acknowledged.
type OutboxEntry struct {
	// ID names the entry for POST /v1/outbox/ack.
	ID string `json:"id"`
	// Op is the call: "key_package", "create", "commit", "send",
	// "receive", "join" or "external_join".
	Op string `json:"op"`
	// GroupID is the group's id in hex (empty for key packages).
	GroupID string `json:"group_id,omitempty"`
	// Created is when the call stored its answer.
	Created time.Time `json:"created"`
	// IdempotencyKey is the call's Idempotency-Key, if it had one.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// Response is the call's answer, exactly as it was returned.
	Response json.RawMessage `json:"response"`
}

// OutboxList is the answer of GET /v1/outbox.
type OutboxList struct {
	Entries []OutboxEntry `json:"entries"`
	// More says that entries after the last one listed exist.
	More bool `json:"more"`
}

// AckRequest acknowledges outbox entries by id.
type AckRequest struct {
	IDs []string `json:"ids"`
}

// AckResponse says what an acknowledgement removed.
type AckResponse struct {
	Acked int `json:"acked"`
	// Unknown lists ids that were not in the outbox (acknowledged before,
	// or dropped by agent.outbox_keep).
	Unknown []string `json:"unknown,omitempty"`
}

// outboxRecord is an entry as stored.
type outboxRecord struct {
	Op       string          `json:"op"`
	GroupID  string          `json:"group_id,omitempty"`
	Created  time.Time       `json:"created"`
	Key      string          `json:"idempotency_key,omitempty"`
	Request  string          `json:"request"` // SHA-256 of the request, hex
	Response json.RawMessage `json:"response"`
}

// outboxStore is what the outbox needs of the local store.
type outboxStore interface {
	Get(ctx context.Context, key engine.Key) ([]byte, error)
	List(ctx context.Context, group []byte, kind engine.Kind) ([]string, error)
	Apply(ctx context.Context, b *engine.Batch) error
}

// outbox indexes the stored entries: by key hash, and by name (sorted).
type outbox struct {
	st   outboxStore
	log  *slog.Logger
	keep config.OutboxKeep
	now  func() time.Time
	m    *outboxMetrics

	mu      sync.Mutex
	byKey   map[string]string // key hash → entry name
	names   []string          // entry names, sorted (oldest first)
	lastSeq uint64
	claims  map[string]chan struct{} // key hashes of calls in flight
}

// openOutbox indexes the entries stored in st.
func openOutbox(ctx context.Context, st outboxStore, keep config.OutboxKeep, log *slog.Logger) (*outbox, error) {
	names, err := st.List(ctx, nil, outboxKind)
	if err != nil {
		return nil, fmt.Errorf("open outbox: %w", err)
	}
	o := &outbox{st: st, log: log, keep: keep, now: time.Now, m: newOutboxMetrics(),
		byKey: map[string]string{}, claims: map[string]chan struct{}{}}
	for _, n := range names {
		seq, kh, ok := parseEntryName(n)
		if !ok {
			log.Warn("outbox: ignoring a component with a foreign name", "name", n)
			continue
		}
		o.byKey[kh] = n
		o.names = append(o.names, n)
		o.lastSeq = max(o.lastSeq, seq)
	}
	sort.Strings(o.names)
	o.m.entries.Set(float64(len(o.names)))
	return o, nil
}

// entryName is the component name of an entry.
func entryName(seq uint64, kh string) string { return fmt.Sprintf("%016x-%s", seq, kh) }

// parseEntryName reads an entry name.
func parseEntryName(n string) (seq uint64, kh string, ok bool) {
	s, kh, ok := strings.Cut(n, "-")
	if !ok || len(s) != 16 || len(kh) != 32 {
		return 0, "", false
	}
	seq, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, "", false
	}
	if _, err := hex.DecodeString(kh); err != nil {
		return 0, "", false
	}
	return seq, kh, true
}

// keyHash is the 32-hex-digit key of an entry: kind "key" for an
// idempotency key, "msg" for a received message.
func keyHash(kind string, b []byte) string {
	h := sha256.New()
	h.Write([]byte("mlsbackup-outbox\x00" + kind + "\x00"))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// requestHash digests the parts of a request.
func requestHash(op string, parts ...[]byte) string {
	h := sha256.New()
	h.Write([]byte(op))
	for _, p := range parts {
		var n [8]byte
		for i := range n {
			n[i] = byte(uint64(len(p)) >> (8 * i))
		}
		h.Write(n[:])
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// outboxCall is one mutating call's use of the outbox: its key, claimed
// so that calls with the same key run one after the other, and the entry
// its transition stores.
type outboxCall struct {
	o       *outbox
	op      string
	key     string // the Idempotency-Key, if any
	kh      string
	request string
	release func()
	name    string // the entry the transition stores, once built
}

// begin claims the key of a call: the idempotency key if given, else
// message (the received message) if not nil, else a random one. It waits
// while a call with the same key runs. request digests what the call asks
// for, to refuse a key reused for another request.
func (o *outbox) begin(ctx context.Context, op, key string, message []byte, request string) (*outboxCall, error) {
	if len(key) > MaxIdempotencyKey {
		return nil, fmt.Errorf("%w: Idempotency-Key longer than %d bytes", ErrInvalidArgument, MaxIdempotencyKey)
	}
	var kh string
	switch {
	case key != "":
		kh = keyHash("key", []byte(key))
	case message != nil:
		kh = keyHash("msg", message)
	default:
		var r [16]byte
		if _, err := rand.Read(r[:]); err != nil {
			return nil, fmt.Errorf("outbox key: %w", err)
		}
		kh = hex.EncodeToString(r[:])
	}
	for {
		o.mu.Lock()
		ch, busy := o.claims[kh]
		if !busy {
			mine := make(chan struct{})
			o.claims[kh] = mine
			o.mu.Unlock()
			release := func() {
				o.mu.Lock()
				delete(o.claims, kh)
				o.mu.Unlock()
				close(mine)
			}
			return &outboxCall{o: o, op: op, key: key, kh: kh, request: request, release: release}, nil
		}
		o.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for a call with the same key: %w", ctx.Err())
		}
	}
}

// replay decodes the stored answer of the call's key into resp, if there
// is one; it fails if the key was used for another request.
func (c *outboxCall) replay(ctx context.Context, resp any) (bool, error) {
	o := c.o
	o.mu.Lock()
	name, ok := o.byKey[c.kh]
	o.mu.Unlock()
	if !ok {
		return false, nil
	}
	b, err := o.st.Get(ctx, engine.Key{Kind: outboxKind, Name: name})
	if errors.Is(err, engine.ErrNotFound) {
		return false, nil // acknowledged meanwhile
	}
	if err != nil {
		return false, fmt.Errorf("read outbox entry: %w", err)
	}
	var rec outboxRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return false, fmt.Errorf("outbox entry %s: %w", name, err)
	}
	if rec.Op != c.op || rec.Request != c.request {
		return false, fmt.Errorf("%w (entry %s, a %s call)", ErrIdempotencyKeyReused, name, rec.Op)
	}
	if err := json.Unmarshal(rec.Response, resp); err != nil {
		return false, fmt.Errorf("outbox entry %s: %w", name, err)
	}
	o.m.replays.Inc()
	return true, nil
}

// attach returns the engine.Attach that stores the call's answer, which
// build makes from the transition's outcome, in the transition's batch.
func (c *outboxCall) attach(build func(o *engine.Outcome) (any, error)) engine.Attach {
	return func(out *engine.Outcome) ([]engine.Put, error) {
		resp, err := build(out)
		if err != nil {
			return nil, err
		}
		raw, err := json.Marshal(resp)
		if err != nil {
			return nil, fmt.Errorf("encode answer: %w", err)
		}
		now := c.o.now()
		rec := outboxRecord{Op: c.op, Created: now.UTC(), Key: c.key, Request: c.request, Response: raw}
		if out.GroupID != nil {
			rec.GroupID = hex.EncodeToString(out.GroupID)
		}
		v, err := json.Marshal(rec)
		if err != nil {
			return nil, fmt.Errorf("encode outbox entry: %w", err)
		}
		c.name = entryName(c.o.nextSeq(now), c.kh)
		return []engine.Put{{Key: engine.Key{Kind: outboxKind, Name: c.name}, Value: v}}, nil
	}
}

// nextSeq returns a sequence number above every earlier one.
func (o *outbox) nextSeq(now time.Time) uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.lastSeq = max(o.lastSeq+1, uint64(now.UnixNano()))
	return o.lastSeq
}

// end finishes the call: if its transition stored the entry (err is nil),
// the entry is indexed and the outbox trimmed to its bounds. The claim is
// released either way.
func (c *outboxCall) end(ctx context.Context, err error) {
	defer c.release()
	if err != nil || c.name == "" {
		return
	}
	o := c.o
	o.mu.Lock()
	o.byKey[c.kh] = c.name
	i := sort.SearchStrings(o.names, c.name)
	o.names = append(o.names, "")
	copy(o.names[i+1:], o.names[i:])
	o.names[i] = c.name
	o.m.entries.Set(float64(len(o.names)))
	o.mu.Unlock()
	o.trim(context.WithoutCancel(ctx))
}
