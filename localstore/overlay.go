package localstore

// overlay holds the pending entries (committed values not yet in their
// files), by component key and by group, so that per-group reads cost the
// group's entries rather than all of them. Guarded by Store.mu.
type overlay struct {
	all     map[string]*pendingEntry
	byGroup map[string]map[string]*pendingEntry // string(group) → compKey → entry
}

func newOverlay() overlay {
	return overlay{all: map[string]*pendingEntry{}, byGroup: map[string]map[string]*pendingEntry{}}
}

func (o *overlay) len() int { return len(o.all) }

func (o *overlay) get(k string) (*pendingEntry, bool) {
	e, ok := o.all[k]
	return e, ok
}

// set installs e as the newest value of the component with key k.
func (o *overlay) set(k string, e *pendingEntry) {
	o.all[k] = e
	g := o.byGroup[string(e.key.Group)]
	if g == nil {
		g = map[string]*pendingEntry{}
		o.byGroup[string(e.key.Group)] = g
	}
	g[k] = e
}

// removeIf drops the entry of k if it is still e (a newer one stays).
func (o *overlay) removeIf(k string, e *pendingEntry) {
	if o.all[k] != e {
		return
	}
	delete(o.all, k)
	g := o.byGroup[string(e.key.Group)]
	delete(g, k)
	if len(g) == 0 {
		delete(o.byGroup, string(e.key.Group))
	}
}

// group returns the pending entries of one group (do not modify).
func (o *overlay) group(group []byte) map[string]*pendingEntry {
	return o.byGroup[string(group)]
}

// remove drops the entry of k, whatever it is.
func (o *overlay) remove(k string) {
	if e, ok := o.all[k]; ok {
		o.removeIf(k, e)
	}
}
