package crashtest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/localstore"
)

// Synthetic is a workload of random batches shaped like MLS transitions
// (commits that add an epoch secret, adds, removes, sends, Welcomes,
// KeyPackages, snapshot imports) over several groups. It is deterministic
// for a given seed.
type Synthetic struct {
	// Seed makes the sequence reproducible.
	Seed uint64
	// Ops is the number of operations.
	Ops int
	// Groups is the number of groups.
	Groups int

	rng    *rand.Rand
	epochs map[int]uint64
	joined map[int]bool
	kps    []int
	n      int
}

var _ Workload = (*Synthetic)(nil)

// NewSynthetic returns a workload factory for [Config.NewWorkload].
func NewSynthetic(seed uint64, ops, groups int) func() Workload {
	return func() Workload { return &Synthetic{Seed: seed, Ops: ops, Groups: groups} }
}

func (w *Synthetic) group(g int) []byte { return []byte(fmt.Sprintf("group-%02d", g)) }

func (w *Synthetic) value(tag string) []byte {
	v := make([]byte, 16+w.rng.IntN(200))
	for i := range v {
		v[i] = byte(w.rng.Uint32())
	}
	return append([]byte(fmt.Sprintf("%s#%d:", tag, w.n)), v...)
}

func (w *Synthetic) put(g []byte, kind engine.Kind, name string) engine.Put {
	return engine.Put{Key: engine.Key{Group: g, Kind: kind, Name: name}, Value: w.value(name)}
}

// Run implements [Workload].
func (w *Synthetic) Run(ctx context.Context, t Target) error {
	w.rng = rand.New(rand.NewPCG(w.Seed, 0x5eed))
	w.epochs = map[int]uint64{}
	w.joined = map[int]bool{}
	for w.n = 0; w.n < w.Ops; w.n++ {
		// An operation that failed cleanly on a full disk is simply not
		// done: the next one goes on from the state before it.
		if err := w.step(ctx, t); err != nil && !FailedCleanly(err) {
			return err
		}
	}
	return nil
}

// step performs one random operation.
func (w *Synthetic) step(ctx context.Context, t Target) error {
	gi := w.rng.IntN(w.Groups)
	g := w.group(gi)
	if !w.joined[gi] {
		// JoinFromWelcome: a whole group appears, consuming a KeyPackage.
		w.joined[gi] = true
		b := &engine.Batch{Op: "JoinFromWelcome", Group: g, Puts: []engine.Put{
			w.put(g, engine.KindState, "context"), w.put(g, engine.KindState, "tree_0"),
			w.put(g, engine.KindState, "secret_tree"), w.put(g, engine.KindKeys, "leaf"),
			w.put(g, engine.KindEpochSecrets, "epoch_0.bin"),
		}}
		if len(w.kps) > 0 {
			b.Deletes = append(b.Deletes, engine.Key{Kind: engine.KindKeys, Name: fmt.Sprintf("kp_%d", w.kps[0])})
			w.kps = w.kps[1:]
		}
		return t.Apply(ctx, b)
	}
	switch r := w.rng.IntN(100); {
	case r < 30: // SendMessage: the sender's generation advances.
		return t.Apply(ctx, &engine.Batch{Op: "SendMessage", Group: g, Puts: []engine.Put{w.put(g, engine.KindState, "secret_tree")}})
	case r < 55: // Commit (self-update or incoming): new epoch.
		w.epochs[gi]++
		e := w.epochs[gi]
		return t.Apply(ctx, &engine.Batch{Op: "ProcessCommit", Group: g, Puts: []engine.Put{
			w.put(g, engine.KindState, "context"), w.put(g, engine.KindState, "secret_tree"),
			w.put(g, engine.KindKeys, "leaf"), w.put(g, engine.KindEpochSecrets, fmt.Sprintf("epoch_%d.bin", e)),
		}})
	case r < 70: // AddMembers: tree grows.
		w.epochs[gi]++
		return t.Apply(ctx, &engine.Batch{Op: "AddMembers", Group: g, Puts: []engine.Put{
			w.put(g, engine.KindState, "context"), w.put(g, engine.KindState, fmt.Sprintf("tree_%d", w.rng.IntN(4))),
			w.put(g, engine.KindEpochSecrets, fmt.Sprintf("epoch_%d.bin", w.epochs[gi])),
		}})
	case r < 80: // RemoveMembers: a tree chunk goes.
		w.epochs[gi]++
		return t.Apply(ctx, &engine.Batch{Op: "RemoveMembers", Group: g,
			Puts:    []engine.Put{w.put(g, engine.KindState, "context"), w.put(g, engine.KindEpochSecrets, fmt.Sprintf("epoch_%d.bin", w.epochs[gi]))},
			Deletes: []engine.Key{{Group: g, Kind: engine.KindState, Name: fmt.Sprintf("tree_%d", 1+w.rng.IntN(3))}}})
	case r < 92: // CreateKeyPackage: client-level private key.
		w.kps = append(w.kps, w.n)
		return t.Apply(ctx, &engine.Batch{Op: "CreateKeyPackage", Puts: []engine.Put{w.put(nil, engine.KindKeys, fmt.Sprintf("kp_%d", w.n))}})
	default: // Snapshot import: the group is replaced as a whole.
		w.epochs[gi] += 2
		return t.ReplaceGroup(ctx, g, []engine.Put{
			w.put(g, engine.KindState, "context"), w.put(g, engine.KindState, "tree_0"),
			w.put(g, engine.KindKeys, "leaf"), w.put(g, engine.KindEpochSecrets, fmt.Sprintf("epoch_%d.bin", w.epochs[gi])),
		})
	}
}

// Continue implements [Workload]: one more commit in a group must apply and
// read back.
func (w *Synthetic) Continue(ctx context.Context, st *localstore.Store) error {
	g := w.group(0)
	v := []byte("after-crash")
	k := engine.Key{Group: g, Kind: engine.KindState, Name: "context"}
	if err := st.Apply(ctx, &engine.Batch{Op: "ProcessCommit", Group: g, Puts: []engine.Put{{Key: k, Value: v}}}); err != nil {
		return err
	}
	got, err := st.Get(ctx, k)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, v) {
		return fmt.Errorf("read back %q, want %q", got, v)
	}
	return nil
}
