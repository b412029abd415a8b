package localstore

import (
	"context"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/mlsbackup/mlsbackup/internal/atomicfile"
	"github.com/mlsbackup/mlsbackup/wal"
)

// OpInfo describes an operation handled by recovery (no secrets).
type OpInfo struct {
	// ID is the operation id in the log.
	ID uint64
	// Op is the operation name ([engine.Batch.Op] or the kind given to [Store.Begin]).
	Op string
	// Group is the group id (empty for client-level operations).
	Group []byte
	// Puts and Deletes count the batch's changes.
	Puts, Deletes int
}

// PendingInput is an operation that was begun with an input (an incoming
// message) and never committed: the caller may process the input again,
// then must call [Store.DropPending] with its ID.
type PendingInput struct {
	ID    uint64
	Kind  string
	Input []byte
}

// RecoveryReport is what [Open] did to bring the store to a consistent state.
type RecoveryReport struct {
	// Replayed are committed batches applied again to the files, in order.
	Replayed []OpInfo
	// Dropped are operations begun without input and never committed.
	Dropped []OpInfo
	// PendingInputs are begun operations whose input may be processed again.
	PendingInputs []PendingInput
	// TornTail is non-nil if a torn write at the end of the log was truncated.
	TornTail *wal.TailRepair
}

// recover replays committed batches, drops incomplete operations and
// removes leftover temporary files. The lock is held; nothing else runs.
func (s *Store) recover(ctx context.Context, rec *wal.Recovery) (*RecoveryReport, error) {
	report := &RecoveryReport{TornTail: rec.Repaired}
	s.recovering = true
	defer func() { s.recovering = false }()
	if err := s.cleanTemps(); err != nil {
		return nil, fmt.Errorf("recover: %w", err)
	}
	entries, ids, replayed, err := foldReplay(rec.Replay)
	if err != nil {
		return nil, err
	}
	report.Replayed = replayed
	// Replay overwrites or removes each file without reading it: a file
	// that a power loss left empty or partial is never taken as state.
	if err := s.writeAll(entries); err != nil {
		return nil, fmt.Errorf("recover: %w", err)
	}
	s.ckpt.written = ids
	for _, e := range rec.Incomplete {
		if len(e.Input) > 0 {
			report.PendingInputs = append(report.PendingInputs, PendingInput{ID: e.ID, Kind: e.Kind, Input: e.Input})
			continue
		}
		if err := s.log.Abort(ctx, e.ID); err != nil {
			return nil, fmt.Errorf("recover: %w", err)
		}
		report.Dropped = append(report.Dropped, OpInfo{ID: e.ID, Op: e.Kind})
	}
	// Fsync the directories, mark the replayed operations applied and
	// checkpoint the log.
	if err := s.checkpointLocked(ctx); err != nil {
		return nil, fmt.Errorf("recover: %w", err)
	}
	if err := s.sweepSnapshots(); err != nil {
		return nil, fmt.Errorf("recover: %w", err)
	}
	if len(report.Replayed)+len(report.Dropped)+len(report.PendingInputs) > 0 || report.TornTail != nil {
		s.opts.Logger.Info("localstore: recovered", "replayed", len(report.Replayed), "dropped", len(report.Dropped), "pending_inputs", len(report.PendingInputs), "torn_tail", report.TornTail != nil)
	}
	return report, nil
}

// foldReplay folds the committed batches to replay: replaying them in
// order and writing each component's final value once gives the same files
// as applying each batch. It returns the final entries sorted by component
// key, the operations' ids and what each did.
func foldReplay(replay []wal.Entry) ([]*pendingEntry, []uint64, []OpInfo, error) {
	final := map[string]*pendingEntry{}
	var (
		ids []uint64
		ops []OpInfo
	)
	for _, e := range replay {
		b, err := decodeBatch(e.Payload)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("recover: operation %d: %w", e.ID, err)
		}
		if err := validateBatch(b); err != nil {
			return nil, nil, nil, fmt.Errorf("recover: operation %d: %w", e.ID, err)
		}
		for _, d := range b.Deletes {
			final[compKey(d)] = &pendingEntry{key: d, deleted: true}
		}
		for _, p := range b.Puts {
			final[compKey(p.Key)] = &pendingEntry{key: p.Key, value: p.Value}
		}
		ids = append(ids, e.ID)
		ops = append(ops, OpInfo{ID: e.ID, Op: b.Op, Group: b.Group, Puts: len(b.Puts), Deletes: len(b.Deletes)})
	}
	keys := make([]string, 0, len(final))
	for k := range final {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	entries := make([]*pendingEntry, len(keys))
	for i, k := range keys {
		entries[i] = final[k]
	}
	return entries, ids, ops, nil
}

// DropPending finishes a pending input reported by recovery (after the
// caller has processed it again, or decided not to).
func (s *Store) DropPending(ctx context.Context, id uint64) error {
	if err := s.usable(); err != nil {
		return err
	}
	if err := s.log.Abort(ctx, id); err != nil {
		return fmt.Errorf("drop pending %d: %w", id, err)
	}
	return nil
}

// cleanTemps removes temporary files left by interrupted atomic writes in
// every component and snapshot directory.
func (s *Store) cleanTemps() error {
	roots := []string{filepath.Join(s.dir, dirMLS, dirClient)}
	groups, err := s.readNames(filepath.Join(s.dir, dirMLS, dirGroups))
	if err != nil {
		return err
	}
	for _, g := range groups {
		if _, err := hex.DecodeString(g); err == nil {
			roots = append(roots, filepath.Join(s.dir, dirMLS, dirGroups, g))
		}
	}
	for _, root := range roots {
		kinds, err := s.fs.ReadDir(root)
		if err != nil {
			return fmt.Errorf("clean temps: %w", err)
		}
		for _, k := range kinds {
			p := filepath.Join(root, k.Name())
			switch {
			case k.IsDir():
				if err := atomicfile.CleanTemps(s.fs, p); err != nil {
					return err
				}
			case atomicfile.IsTemp(k.Name()):
				if err := s.fs.Remove(p); err != nil {
					return fmt.Errorf("clean temps: %w", err)
				}
			}
		}
	}
	return nil
}

// Dump returns every component keyed "<group-hex>/<kind>/<name>", for
// tests and diagnostics.
func (s *Store) Dump(ctx context.Context) (map[string][]byte, error) {
	out := map[string][]byte{}
	groups, err := s.Groups(ctx)
	if err != nil {
		return nil, err
	}
	for _, g := range append([][]byte{nil}, groups...) {
		comps, err := s.GroupComponents(ctx, g)
		if err != nil {
			return nil, err
		}
		for _, c := range comps {
			out[compKey(c.Key)] = c.Value
		}
	}
	return out, nil
}
