package uploader

import (
	"context"
	"encoding/hex"
	"errors"
)

// headAttempts bounds the sequences WriteHead tries when the key it
// would create is taken (by an object it did not write).
const headAttempts = 3

// WriteHead writes a new head: a signed statement of the newest manifest
// of every group this writer knows (its own uploads, and what it found at
// the destination before its first one), under P/heads/<sequence>.json
// with a conditional create. It then deletes its older heads but the
// newest few. It needs a signing key and the prefix's lease. Writers call
// it coalesced, after uploads (see [Backup.HeadPending]): a head lists
// every group, so one per upload would cost as much as the uploads.
func (b *Backup) WriteHead(ctx context.Context) (*Head, error) {
	if b.codec.key == nil {
		return nil, ErrNoSigningKey
	}
	if err := b.ensureLease(ctx); err != nil {
		return nil, err
	}
	if err := b.ensureChain(ctx); err != nil {
		return nil, err
	}
	var err error
	for range headAttempts {
		h := b.chain.takeHead()
		h.Key, h.Written, h.AgentID, h.Signer = b.layout.headKey(h.Sequence), b.opts.Now().UTC(), b.opts.AgentID, b.codec.key.Public()
		var data []byte
		if data, err = b.codec.encodeHead(*h); err != nil {
			break
		}
		if err = b.putObject(ctx, h.Key, data); err != nil {
			err = objErr("write head", h.Key, err)
			if errors.Is(err, ErrExists) {
				b.log.Warn("head key taken by an object this agent did not write; trying the next sequence", "key", h.Key)
				continue
			}
			break
		}
		for _, seq := range b.chain.headWritten(h.Sequence) {
			key := b.layout.headKey(seq)
			if err := b.store.Delete(ctx, key); err != nil {
				b.log.Warn("delete old head", "key", key, "err", err)
				b.chain.keepHead(seq)
			}
		}
		b.log.Debug("head written", "key", h.Key, "groups", len(h.Groups))
		return h, nil
	}
	b.chain.headFailed()
	return nil, err
}

// HeadPending reports whether a manifest was signed since the last head
// this Backup wrote.
func (b *Backup) HeadPending() bool {
	b.chain.mu.Lock()
	defer b.chain.mu.Unlock()
	return b.chain.pending
}

// takeHead allocates a head's sequence and returns the head listing every
// group's newest manifest; it clears pending (a failed write sets it
// again).
func (c *chain) takeHead() *Head {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := &Head{Sequence: c.next, Groups: make(map[string]HeadEntry, len(c.groups))}
	c.next++
	for id, g := range c.groups {
		if g.has {
			h.Groups[hexID(id)] = g.newest
		}
	}
	c.pending = false
	return h
}

// headWritten records head seq as written and returns the older heads to
// delete.
func (c *chain) headWritten(seq uint64) []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.head = max(c.head, seq)
	c.heads = append(c.heads, seq)
	if len(c.heads) <= headsKept {
		return nil
	}
	old := c.heads[:len(c.heads)-headsKept]
	c.heads = append([]uint64(nil), c.heads[len(c.heads)-headsKept:]...)
	return old
}

// keepHead puts back an old head whose deletion failed, to try again.
func (c *chain) keepHead(seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.heads = append([]uint64{seq}, c.heads...)
}

// headFailed notes that a head could not be written: the uploads it
// would have listed still wait for one.
func (c *chain) headFailed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending = true
}

// hexID returns a group id held as a string in lower-case hex.
func hexID(id string) string { return hex.EncodeToString([]byte(id)) }
