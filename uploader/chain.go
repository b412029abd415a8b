package uploader

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
)

// headsKept is how many of the newest heads a writer keeps: after it
// writes a head it deletes the older ones it knows of.
const headsKept = 3

// chain is a signing writer's state of its prefix (doc.go, "Chain and
// head"): the next sequence, the newest head, and each group's newest
// manifest. It is seeded from the destination before the first signed
// write ([Backup.ensureChain]).
type chain struct {
	seedMu sync.Mutex
	seeded bool

	mu      sync.Mutex
	next    uint64
	head    uint64   // the newest head written or found
	heads   []uint64 // heads to delete once newer ones exist, ascending
	groups  map[string]*chainGroup
	pending bool // a manifest was signed since the last head was written
}

// chainGroup is one group's place in the chain.
type chainGroup struct {
	// mu serializes the group's signed writes, from taking a sequence
	// until the object is written, so that each names its predecessor.
	mu sync.Mutex
	// Guarded by chain.mu: known is false after a write that may or may
	// not have landed (the group is read again before the next one); has
	// says whether entry and newest name manifests. entry is the group's
	// last manifest written, which the next one names as its predecessor;
	// newest is the group's newest by key (epoch, time), which heads name
	// because readers take it as the group's newest. They differ only
	// after a write of an older snapshot than the newest (a rekey, a
	// copy, an upload after a forced rollback).
	known  bool
	has    bool
	entry  HeadEntry
	newest HeadEntry
}

func newChain() *chain { return &chain{next: 1, groups: map[string]*chainGroup{}} }

// group returns the state of group id, new (no manifest yet) if unknown.
func (c *chain) group(id []byte) *chainGroup {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[string(id)]
	if g == nil {
		g = &chainGroup{known: true}
		c.groups[string(id)] = g
	}
	return g
}

// isKnown reports whether g's newest manifest is known.
func (c *chain) isKnown(g *chainGroup) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return g.known
}

// alloc takes the next sequence for a manifest of g and returns it with
// the link to g's newest manifest (nil if none) and the newest head.
func (c *chain) alloc(g *chainGroup) (seq uint64, prev *Link, head uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	seq = c.next
	c.next++
	if g.has {
		l := g.entry.link()
		prev = &l
	}
	return seq, prev, c.head
}

// set makes e (has false: nothing) g's newest manifest.
func (c *chain) set(g *chainGroup, e HeadEntry, has bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g.entry, g.newest, g.has, g.known = e, e, has, true
}

// advance records m, just written, as g's last manifest, and as its
// newest unless it is older (by key) than the newest.
func (c *chain) advance(g *chainGroup, m Manifest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := entryOf(m)
	if !g.has || e.newer(g.newest) {
		g.newest = e
	}
	g.entry, g.has, g.known = e, true, true
	c.pending = true
}

// forget marks g's newest manifest unknown: a write failed in a way that
// may have stored it all the same.
func (c *chain) forget(g *chainGroup) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g.known = false
}

// putSigned signs m (with the age file ct if inline) as the next link of
// its group's chain and writes it under m.Key with a conditional create.
func (b *Backup) putSigned(ctx context.Context, m *Manifest, ct []byte) error {
	g := b.chain.group(m.GroupID)
	g.mu.Lock()
	defer g.mu.Unlock()
	if !b.chain.isKnown(g) {
		if err := b.resync(ctx, m.GroupID, g); err != nil {
			return err
		}
	}
	m.Sequence, m.Prev, m.Head = b.chain.alloc(g)
	data, err := b.codec.encode(m, ct)
	if err != nil {
		return err
	}
	if err := b.putObject(ctx, m.Key, data); err != nil {
		b.chain.forget(g)
		return err
	}
	b.chain.advance(g, *m)
	return nil
}

// resync reads group's newest signed manifest from the destination as
// the predecessor of its next one.
func (b *Backup) resync(ctx context.Context, group []byte, g *chainGroup) error {
	res, err := b.scan(ctx, group)
	if err != nil {
		return err
	}
	e, has, err := b.newestSigned(ctx, res.complete)
	if err != nil {
		return err
	}
	b.chain.set(g, e, has)
	return nil
}

// newestSigned returns the entry of the newest manifest among refs (one
// group's, sorted) that verifies. Manifests that do not verify are
// skipped (logged); a transport error is returned.
func (b *Backup) newestSigned(ctx context.Context, refs []Ref) (HeadEntry, bool, error) {
	for i := len(refs) - 1; i >= 0; i-- {
		m, err := b.ReadManifest(ctx, refs[i])
		switch {
		case err == nil && m.Signed():
			return entryOf(m), true, nil
		case err == nil:
			continue // unsigned, of an earlier version
		case FailedCheck(err) == CheckDownload && !errors.Is(err, ErrNotFound):
			return HeadEntry{}, false, err
		}
		b.log.Warn("chain: skipping a manifest that does not verify", "key", refs[i].Key, "err", err)
	}
	return HeadEntry{}, false, nil
}

// LoadChain learns the prefix's chain from the destination, as the first
// signed write does if it was not called: see doc.go, "Chain and head".
// It reads; it needs neither the lease nor a signing key.
func (b *Backup) LoadChain(ctx context.Context) error { return b.ensureChain(ctx) }

// ensureChain seeds the chain from the destination once, before the
// first signed write: the newest head that verifies, and for each group
// whose newest manifest is not the one that head names, the newest
// manifest that verifies. The next sequence follows the highest found.
func (b *Backup) ensureChain(ctx context.Context) error {
	c := b.chain
	c.seedMu.Lock()
	defer c.seedMu.Unlock()
	if c.seeded {
		return nil
	}
	seqs, err := b.headKeys(ctx)
	if err != nil {
		return fmt.Errorf("seed chain: %w", err)
	}
	var head *Head
	for _, seq := range seqs {
		h, err := b.readHeadAt(ctx, seq)
		if err == nil {
			head = h
			break
		}
		if FailedCheck(err) == CheckDownload {
			return fmt.Errorf("seed chain: %w", err)
		}
		b.log.Warn("chain: ignoring a head that does not verify", "err", err)
	}
	res, err := b.scan(ctx, nil)
	if err != nil {
		return fmt.Errorf("seed chain: %w", err)
	}
	entries, err := b.seedEntries(ctx, head, res.complete)
	if err != nil {
		return fmt.Errorf("seed chain: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if head != nil {
		c.head = head.Sequence
		c.next = max(c.next, head.Sequence+1)
		for _, seq := range seqs {
			if seq <= head.Sequence {
				c.heads = append([]uint64{seq}, c.heads...)
			}
		}
	}
	for id, e := range entries {
		c.groups[id] = &chainGroup{known: true, has: true, entry: e, newest: e}
		c.next = max(c.next, e.Sequence+1)
	}
	c.seeded = true
	b.log.Info("chain seeded", "head", c.head, "next_sequence", c.next, "groups", len(entries))
	return nil
}

// seedEntries returns each group's newest manifest, keyed by the group
// id's bytes: from head where the group's newest key is the one head
// names (or the group has no key left), else the newest that verifies,
// read concurrently.
func (b *Backup) seedEntries(ctx context.Context, head *Head, refs []Ref) (map[string]HeadEntry, error) {
	entries := map[string]HeadEntry{}
	if head != nil {
		for g, e := range head.Groups {
			id, err := hex.DecodeString(g)
			if err == nil {
				entries[string(id)] = e
			}
		}
	}
	var todo [][]Ref
	for end := len(refs); end > 0; {
		start := end - 1
		for start > 0 && string(refs[start-1].GroupID) == string(refs[end-1].GroupID) {
			start--
		}
		newest := refs[end-1]
		if e, ok := entries[string(newest.GroupID)]; !ok || e.Epoch != newest.Epoch || e.ID != newest.ID {
			todo = append(todo, refs[start:end])
		}
		end = start
	}
	found := make([]HeadEntry, len(todo))
	has := make([]bool, len(todo))
	errs := make([]error, len(todo))
	sem := make(chan struct{}, b.opts.Concurrency)
	var wg sync.WaitGroup
	for i, group := range todo {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			found[i], has[i], errs[i] = b.newestSigned(ctx, group)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i, group := range todo {
		// A group none of whose manifests verifies keeps the entry of
		// the head, if any: its next manifest names that one, and
		// verify reports the link.
		if has[i] {
			entries[string(group[0].GroupID)] = found[i]
		}
	}
	return entries, nil
}

// LoadChainFrom is [Backup.LoadChain] given ms, every manifest of the
// prefix as [Backup.List] returns them: the next sequence then follows
// the highest of them, and each group's next manifest names the group's
// manifest of the highest sequence as its predecessor. A writer of
// snapshots older than their group's newest (a rekey, a copy) calls it
// before writing: an interrupted run of it may have left manifests whose
// sequences are above those of the newest head and of each group's newest
// manifest, which are all LoadChain reads.
func (b *Backup) LoadChainFrom(ctx context.Context, ms []Manifest) error {
	if err := b.ensureChain(ctx); err != nil {
		return err
	}
	c := b.chain
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range ms {
		if !m.Signed() {
			continue
		}
		c.next = max(c.next, m.Sequence+1)
		e := entryOf(m)
		g := c.groups[string(m.GroupID)]
		switch {
		case g == nil:
			c.groups[string(m.GroupID)] = &chainGroup{known: true, has: true, entry: e, newest: e}
		case !g.has:
			g.entry, g.newest, g.has = e, e, true
		default:
			if e.Sequence > g.entry.Sequence {
				g.entry = e
			}
			if e.newer(g.newest) {
				g.newest = e
			}
		}
	}
	return nil
}

// newer reports whether e names a newer snapshot by key than o: a higher
// epoch, or a later id ("<time>-<random>", the time fixed-width) in it.
func (e HeadEntry) newer(o HeadEntry) bool {
	return e.Epoch > o.Epoch || (e.Epoch == o.Epoch && e.ID > o.ID)
}
