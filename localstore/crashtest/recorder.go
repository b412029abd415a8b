package crashtest

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"sync"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/localstore"
)

// Recorder is the [Target] a workload drives: it forwards to the store and
// keeps a model of the state after every attempted operation.
type Recorder struct {
	mu        sync.Mutex // guards states and acked against crash-point hooks
	st        *localstore.Store
	retention int
	model     map[string][]byte
	// states[i] is the model after the first i attempted operations
	// (those that failed cleanly on a full disk left out).
	states []map[string][]byte
	acked  int
	failed int
}

var _ Target = (*Recorder)(nil)

func newRecorder(o localstore.Options) *Recorder {
	return &Recorder{retention: retention(o), model: map[string][]byte{}, states: []map[string][]byte{{}}}
}

func (r *Recorder) attempted() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.states) - 1
}

func (r *Recorder) failedOps() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

// FailedCleanly reports whether err is the failure of a write that the
// store cleaned up (a full disk), as opposed to a crash: the operation
// must then leave no trace.
func FailedCleanly(err error) bool {
	return errors.Is(err, localstore.ErrWriteFailed) && !errors.Is(err, fsx.ErrCrashed)
}

// view returns the acknowledged and attempted counts and the states.
func (r *Recorder) view() (acked, attempted int, states []map[string][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.acked, len(r.states) - 1, r.states
}

// viewWith is [Recorder.view] with clone called while no operation can
// start or be acknowledged.
func (r *Recorder) viewWith(clone func() *fsx.Mem) (acked, attempted int, states []map[string][]byte, snap *fsx.Mem) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.acked, len(r.states) - 1, r.states, clone()
}

// Acked is the number of operations the store acknowledged.
func (r *Recorder) Acked() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.acked
}

// Get implements [engine.Storage].
func (r *Recorder) Get(ctx context.Context, k engine.Key) ([]byte, error) { return r.st.Get(ctx, k) }

// List implements [engine.Storage].
func (r *Recorder) List(ctx context.Context, g []byte, kind engine.Kind) ([]string, error) {
	return r.st.List(ctx, g, kind)
}

// Groups implements [engine.Storage].
func (r *Recorder) Groups(ctx context.Context) ([][]byte, error) { return r.st.Groups(ctx) }

// Apply implements [engine.Storage].
func (r *Recorder) Apply(ctx context.Context, b *engine.Batch) error {
	next := r.next(b.Deletes, b.Puts)
	return r.do(next, func() error { return r.st.Apply(ctx, b) })
}

// ReplaceGroup implements [Target].
func (r *Recorder) ReplaceGroup(ctx context.Context, group []byte, comps []engine.Put) error {
	prefix := hex.EncodeToString(group) + "/"
	var dels []engine.Key
	for k := range r.model {
		if strings.HasPrefix(k, prefix) {
			parts := strings.SplitN(k, "/", 3)
			dels = append(dels, engine.Key{Group: group, Kind: engine.Kind(parts[1]), Name: parts[2]})
		}
	}
	next := r.next(dels, comps)
	return r.do(next, func() error { return r.st.ReplaceGroup(ctx, group, comps) })
}

func (r *Recorder) do(next map[string][]byte, call func() error) error {
	r.mu.Lock()
	r.states = append(r.states, next)
	r.mu.Unlock()
	if err := call(); err != nil {
		if FailedCleanly(err) {
			r.mu.Lock()
			r.states = r.states[:len(r.states)-1]
			r.failed++
			r.mu.Unlock()
		}
		return err
	}
	r.mu.Lock()
	r.acked = len(r.states) - 1
	r.mu.Unlock()
	r.model = next
	return nil
}

// next is the model after deletes, then puts, then epoch retention.
func (r *Recorder) next(dels []engine.Key, puts []engine.Put) map[string][]byte {
	m := make(map[string][]byte, len(r.model)+len(puts))
	for k, v := range r.model {
		m[k] = v
	}
	for _, d := range dels {
		delete(m, localstore.KeyString(d))
	}
	putNames := map[string]bool{}
	groups := map[string][]byte{}
	for _, p := range puts {
		ks := localstore.KeyString(p.Key)
		m[ks] = bytes.Clone(p.Value)
		putNames[ks] = true
		if _, ok := localstore.EpochOf(p.Key.Name); ok && p.Key.Kind == engine.KindEpochSecrets && len(p.Key.Group) > 0 {
			groups[string(p.Key.Group)] = p.Key.Group
		}
	}
	for _, g := range groups {
		prefix := localstore.KeyString(engine.Key{Group: g, Kind: engine.KindEpochSecrets})
		var names []string
		for k := range m {
			if n, ok := strings.CutPrefix(k, prefix); ok {
				names = append(names, n)
			}
		}
		for _, n := range localstore.ExpiredEpochs(names, r.retention) {
			if !putNames[prefix+n] {
				delete(m, prefix+n)
			}
		}
	}
	return m
}
