package agent

import (
	"sync"
	"time"

	"github.com/mlsbackup/mlsbackup/uploader"
)

// UploadInfo is the newest complete snapshot of a group at the destination.
type UploadInfo struct {
	Epoch uint64    `json:"epoch"`
	At    time.Time `json:"at"`
}

// uploadTable is what the agent knows of its destination: for each group,
// the epochs of the complete snapshots there and the newest one. It is the
// last successful listing plus this process's own uploads since that
// listing began; a listing replaces it (see [uploadTable.replace]), so a
// snapshot deleted at the destination does not stay known.
type uploadTable struct {
	mu sync.Mutex
	m  map[string]*remoteGroup
	// seq numbers this process's uploads; own holds those not yet seen by
	// a listing that began after them.
	seq uint64
	own []ownUpload
}

// remoteGroup is one group's snapshots at the destination.
type remoteGroup struct {
	epochs map[uint64]struct{}
	latest UploadInfo
}

// ownUpload is an upload of this process, numbered by uploadTable.seq.
type ownUpload struct {
	group string
	info  UploadInfo
	seq   uint64
}

func newUploadTable() *uploadTable { return &uploadTable{m: map[string]*remoteGroup{}} }

// get returns the group's newest snapshot at the destination.
func (t *uploadTable) get(id []byte) (UploadInfo, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g, ok := t.m[string(id)]
	if !ok {
		return UploadInfo{}, false
	}
	return g.latest, true
}

// has reports whether a snapshot of the group at epoch is at the
// destination.
func (t *uploadTable) has(id []byte, epoch uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	g, ok := t.m[string(id)]
	if !ok {
		return false
	}
	_, ok = g.epochs[epoch]
	return ok
}

// len returns how many groups have a snapshot at the destination.
func (t *uploadTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// record notes a complete upload of this process.
func (t *uploadTable) record(id []byte, u UploadInfo) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	t.own = append(t.own, ownUpload{group: string(id), info: u, seq: t.seq})
	t.addLocked(string(id), u)
}

func (t *uploadTable) addLocked(id string, u UploadInfo) {
	g := t.m[id]
	if g == nil {
		g = &remoteGroup{epochs: map[uint64]struct{}{}}
		t.m[id] = g
	}
	g.epochs[u.Epoch] = struct{}{}
	if len(g.epochs) == 1 || u.Epoch > g.latest.Epoch || (u.Epoch == g.latest.Epoch && u.At.After(g.latest.At)) {
		g.latest = u
	}
}

// mark is taken before a listing starts; [uploadTable.replace] keeps the
// uploads recorded after it, which the listing may have missed.
func (t *uploadTable) mark() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.seq
}

// replace makes refs, a listing begun at mark of the whole destination
// (groups nil) or of groups, what is known of it, together with the
// uploads recorded since mark. It returns the newest snapshot of each
// group as known before.
func (t *uploadTable) replace(refs []uploader.Ref, mark uint64, groups [][]byte) map[string]UploadInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	prev := make(map[string]UploadInfo, len(t.m))
	for id, g := range t.m {
		prev[id] = g.latest
	}
	listed := func(string) bool { return true }
	if groups == nil {
		t.m = make(map[string]*remoteGroup, len(t.m))
	} else {
		in := make(map[string]bool, len(groups))
		for _, id := range groups {
			in[string(id)] = true
			delete(t.m, string(id))
		}
		listed = func(id string) bool { return in[id] }
	}
	for _, r := range refs {
		t.addLocked(string(r.GroupID), UploadInfo{Epoch: r.Epoch, At: r.Created})
	}
	kept := t.own[:0]
	for _, o := range t.own {
		switch {
		case !listed(o.group):
			kept = append(kept, o) // not confirmed by this listing
		case o.seq > mark:
			kept = append(kept, o)
			t.addLocked(o.group, o.info)
		}
	}
	clear(t.own[len(kept):])
	t.own = kept
	return prev
}

// latestAll returns the newest snapshot of every group known.
func (t *uploadTable) latestAll() map[string]UploadInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]UploadInfo, len(t.m))
	for id, g := range t.m {
		out[id] = g.latest
	}
	return out
}
