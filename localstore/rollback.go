package localstore

// pruneMark says which local snapshots of a group may stay once the batch
// with ticket is durable: those of the group's current epoch, or none if
// the group is gone (the batch deleted it).
type pruneMark struct {
	epoch  uint64
	gone   bool
	ticket uint64
}

// installEntryLocked makes e the newest value of its component. The value
// it replaces stays reachable through e.prev while e is not durable;
// values below the first durable one are dropped. Every ticket up to
// durable is durable (read before the last rollbackLocked). s.mu is held.
func (s *Store) installEntryLocked(e *pendingEntry, durable uint64) {
	k := compKey(e.key)
	if old, ok := s.pending.get(k); ok {
		e.prev = old
		for p := old; p != nil; p = p.prev {
			if p.ticket <= durable {
				p.prev = nil
				break
			}
		}
	}
	s.pending.set(k, e)
}

// rollbackLocked takes the batches whose log write failed out of the
// store's memory — the overlay (each component gets back the value the
// lost batch replaced), the applier's queue, the snapshot-prune marks and
// the epoch index (rebuilt on next use) — so that readers and later
// batches see the state the log holds. It does nothing unless the log
// failed a write since the last call. s.mu is held.
func (s *Store) rollbackLocked() {
	failures := s.log.Failures()
	if failures == s.seenFailures {
		return
	}
	s.seenFailures = failures
	lost := s.log.Lost
	for k, head := range s.pending.all {
		var first, last *pendingEntry
		for e := head; e != nil; {
			next := e.prev
			if !lost(e.ticket) {
				if first == nil {
					first = e
				} else {
					last.prev = e
				}
				last = e
			}
			e = next
		}
		switch {
		case first == nil:
			s.pending.remove(k)
		case first != head:
			s.pending.set(k, first)
		}
		if last != nil {
			last.prev = nil
		}
	}
	kept := s.queue[:0]
	for _, q := range s.queue {
		if !lost(q.ticket) {
			kept = append(kept, q)
		}
	}
	s.queue = kept
	for gh, m := range s.prune {
		if lost(m.ticket) {
			delete(s.prune, gh)
		}
	}
	s.epochs = map[string]map[string]bool{}
	s.space.Broadcast()
}
