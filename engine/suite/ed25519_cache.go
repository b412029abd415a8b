package suite

import (
	"container/list"
	"sync"
)

// keyTableCache remembers how often public keys were verified and keeps
// the precomputed tables of the keys verified repeatedly, least recently
// used first out. It is safe for concurrent use; tables are immutable once
// inserted.
//
// A key gets a table from its buildAt-th sighting on: a table costs about
// twenty plain verifications to build, and a KeyPackage's key is verified
// twice (KeyPackage and LeafNode signature) and often never again, while
// a join's leaf keys are verified once each. One table is built at a time
// (building); sightings meanwhile keep counting.
type keyTableCache struct {
	mu        sync.Mutex
	buildAt   int
	maxTables int
	maxSeen   int
	building  bool
	// seen and prevSeen count sightings of keys without a table in two
	// generations: when seen reaches maxSeen it becomes prevSeen, so the
	// counts use at most 2·maxSeen entries.
	seen, prevSeen map[[32]byte]int
	tables         map[[32]byte]*list.Element // values are *keyTableEntry
	lru            list.List                  // front is most recently used
}

type keyTableEntry struct {
	key   [32]byte
	table *fixedTable
}

func newKeyTableCache(buildAt, maxTables, maxSeen int) *keyTableCache {
	return &keyTableCache{
		buildAt:   buildAt,
		maxTables: maxTables,
		maxSeen:   maxSeen,
		seen:      make(map[[32]byte]int),
		tables:    make(map[[32]byte]*list.Element),
	}
}

// lookup returns key's table if it has one; otherwise it counts the
// sighting and reports whether the caller should build the table now, in
// which case the caller must call insert or abandon when done.
func (c *keyTableCache) lookup(key *[32]byte) (t *fixedTable, build bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.tables[*key]; ok {
		c.lru.MoveToFront(e)
		return e.Value.(*keyTableEntry).table, false
	}
	n := c.seen[*key]
	if n == 0 {
		n = c.prevSeen[*key]
	}
	if n < 0 {
		return nil, false // abandoned: the key does not decode
	}
	n++
	if n >= c.buildAt && !c.building {
		c.building = true
		return nil, true
	}
	if len(c.seen) >= c.maxSeen {
		c.prevSeen = c.seen
		c.seen = make(map[[32]byte]int)
	}
	c.seen[*key] = n
	return nil, false
}

// abandon ends the build of key's table that lookup asked for without a
// table (the key does not decode); key is not built again while its
// sightings are remembered.
func (c *keyTableCache) abandon(key *[32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.building = false
	c.seen[*key] = -1
}

// insert stores key's table, evicting the least recently used table beyond
// maxTables, and ends the build lookup asked for.
func (c *keyTableCache) insert(key *[32]byte, t *fixedTable) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.building = false
	delete(c.seen, *key)
	delete(c.prevSeen, *key)
	if _, ok := c.tables[*key]; ok {
		return
	}
	c.tables[*key] = c.lru.PushFront(&keyTableEntry{key: *key, table: t})
	for c.lru.Len() > c.maxTables {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.tables, old.Value.(*keyTableEntry).key)
	}
}

// len returns the number of tables and of counted keys.
func (c *keyTableCache) len() (tables, seen int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.tables), len(c.seen) + len(c.prevSeen)
}
