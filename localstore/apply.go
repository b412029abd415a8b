package localstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"sync"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/atomicfile"
)

// Op is an operation begun with [Store.Begin]: its input is in the log
// until it is applied or aborted.
type Op struct {
	s    *Store
	id   uint64
	kind string
	done bool
}

// ID is the operation's id in the log (as reported by recovery).
func (o *Op) ID() uint64 { return o.id }

// Begin starts an operation of the given kind. If input is not empty (an
// incoming message), it is made durable before Begin returns, so that after
// a crash recovery reports it in [RecoveryReport.PendingInputs] for
// processing again. Finish the operation with [Op.Apply] or [Op.Abort].
func (s *Store) Begin(ctx context.Context, kind string, input []byte) (*Op, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	id, err := s.log.Begin(ctx, kind, input, len(input) > 0)
	if err != nil {
		return nil, fmt.Errorf("begin %s: %w", kind, err)
	}
	return &Op{s: s, id: id, kind: kind}, nil
}

// Apply commits the operation's batch: see [Store.Apply].
func (o *Op) Apply(ctx context.Context, b *engine.Batch) error {
	if o.done {
		return fmt.Errorf("apply %s: operation already finished", o.kind)
	}
	o.done = true
	return o.s.commit(ctx, o.id, b, nil)
}

// Abort abandons the operation; nothing of it is applied.
func (o *Op) Abort(ctx context.Context) error {
	if o.done {
		return fmt.Errorf("abort %s: operation already finished", o.kind)
	}
	o.done = true
	if err := o.s.log.Abort(ctx, o.id); err != nil {
		return fmt.Errorf("abort %s: %w", o.kind, err)
	}
	return nil
}

// Apply implements [engine.Storage]: the batch (plus deletions of epoch
// secrets beyond the retention) is appended to the write-ahead log and
// fsynced together with concurrent batches; when Apply returns nil the
// whole batch survives any crash. The changed component files are then
// replaced (by the background applier, or before returning with
// [Options.SyncApply]) and the log is checkpointed.
func (s *Store) Apply(ctx context.Context, b *engine.Batch) error {
	if err := s.usable(); err != nil {
		return err
	}
	if err := validateBatch(b); err != nil {
		return err
	}
	id, err := s.log.Begin(ctx, b.Op, nil, false)
	if err != nil {
		return fmt.Errorf("apply %s: %w", b.Op, err)
	}
	return s.commit(ctx, id, b, nil)
}

// ReplaceGroup atomically replaces every component of group with
// components, as one logged batch (used by snapshot import and restore).
// An empty components deletes the group.
func (s *Store) ReplaceGroup(ctx context.Context, group []byte, components []engine.Put) error {
	if err := s.usable(); err != nil {
		return err
	}
	if len(group) == 0 {
		return fmt.Errorf("replace group: %w: empty group id", ErrInvalidKey)
	}
	b := &engine.Batch{Op: "ReplaceGroup", Group: group}
	for _, p := range components {
		if !bytes.Equal(p.Key.Group, group) {
			return fmt.Errorf("replace group: %w: component %s/%s of another group", ErrInvalidKey, p.Key.Kind, p.Key.Name)
		}
		b.Puts = append(b.Puts, p)
	}
	if err := validateBatch(b); err != nil {
		return err
	}
	id, err := s.log.Begin(ctx, b.Op, nil, false)
	if err != nil {
		return fmt.Errorf("replace group: %w", err)
	}
	return s.commit(ctx, id, b, func(b *engine.Batch) error {
		existing, err := s.groupKeysLocked(group)
		if err != nil {
			return err
		}
		b.Deletes = append(b.Deletes, existing...)
		return nil
	})
}

func validateBatch(b *engine.Batch) error {
	if len(b.Op) > 0xffff || len(b.Group) > maxGroupID {
		return fmt.Errorf("apply: %w: op name or group too long", ErrInvalidKey)
	}
	for _, p := range b.Puts {
		if err := validateKey(p.Key); err != nil {
			return fmt.Errorf("apply %s: %w", b.Op, err)
		}
	}
	for _, d := range b.Deletes {
		if err := validateKey(d); err != nil {
			return fmt.Errorf("apply %s: %w", b.Op, err)
		}
	}
	return nil
}

func (s *Store) usable() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.err
}

// commit logs b as the payload of operation id, installs it in the overlay
// and waits until it is durable. augment, if set, adds changes under the
// store lock so that they are computed from the state the batch applies to.
func (s *Store) commit(ctx context.Context, id uint64, in *engine.Batch, augment func(*engine.Batch) error) error {
	b := &engine.Batch{Op: in.Op, Group: in.Group, Puts: in.Puts, Deletes: append([]engine.Key(nil), in.Deletes...)}
	s.mu.Lock()
	for !s.opts.SyncApply && len(s.pending) >= s.opts.MaxPending && s.err == nil && !s.closed {
		select {
		case s.kick <- struct{}{}:
		default:
		}
		s.space.Wait()
	}
	if err := s.errLocked(); err != nil {
		s.mu.Unlock()
		_ = s.log.Abort(context.WithoutCancel(ctx), id)
		return fmt.Errorf("apply %s: %w", b.Op, err)
	}
	var err error
	if augment != nil {
		err = augment(b)
	}
	if err == nil {
		err = s.addRetentionLocked(b)
	}
	if err != nil {
		s.mu.Unlock()
		_ = s.log.Abort(context.WithoutCancel(ctx), id)
		return fmt.Errorf("apply %s: %w", b.Op, err)
	}
	ticket, err := s.log.CommitAsync(ctx, id, encodeBatch(b))
	if err != nil {
		s.mu.Unlock()
		// Nothing was appended (e.g. ctx ended): finish the operation so
		// that it does not pin its segment.
		_ = s.log.Abort(context.WithoutCancel(ctx), id)
		return fmt.Errorf("apply %s: %w", b.Op, err)
	}
	for _, d := range b.Deletes {
		s.pending[compKey(d)] = &pendingEntry{key: d, deleted: true, ticket: ticket}
	}
	for _, p := range b.Puts {
		s.pending[compKey(p.Key)] = &pendingEntry{key: p.Key, value: bytes.Clone(p.Value), ticket: ticket}
	}
	s.queue = append(s.queue, queued{id: id, ticket: ticket})
	s.mu.Unlock()

	if err := s.log.WaitDurable(ticket); err != nil {
		s.setErr(err)
		return fmt.Errorf("apply %s: %w", b.Op, err)
	}
	if s.opts.SyncApply {
		if err := s.flush(ctx); err != nil {
			return fmt.Errorf("apply %s: durable, but applying to files failed: %w", b.Op, err)
		}
		return nil
	}
	select {
	case s.kick <- struct{}{}:
	default:
	}
	return nil
}

func (s *Store) errLocked() error {
	if s.closed {
		return ErrClosed
	}
	return s.err
}

func (s *Store) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
		s.opts.Logger.Error("localstore: store failed; reopen to recover", "err", err)
	}
	s.space.Broadcast()
}

// runApplier applies committed batches to the files in the background.
func (s *Store) runApplier() {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			return
		case <-s.kick:
			if err := s.flush(context.Background()); err != nil {
				s.setErr(err)
			}
		}
	}
}

// Flush waits until every batch committed so far is applied to the
// component files and the log is checkpointed (its applied segments
// deleted).
func (s *Store) Flush(ctx context.Context) error {
	if err := s.usable(); err != nil {
		return err
	}
	return s.flush(ctx)
}

// flush runs one applier round: it writes the newest value of every
// pending component, marks the covered operations applied, and
// checkpoints the log.
func (s *Store) flush(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	if s.err != nil {
		defer s.mu.Unlock()
		return s.err
	}
	ops := s.queue
	s.queue = nil
	snap := make([]*pendingEntry, 0, len(s.pending))
	for _, e := range s.pending {
		snap = append(snap, e)
	}
	prune := s.prune
	s.prune = map[string]uint64{}
	s.mu.Unlock()
	if len(ops) == 0 {
		return nil
	}
	if err := s.log.WaitDurable(ops[len(ops)-1].ticket); err != nil {
		return err
	}
	sort.Slice(snap, func(i, j int) bool { return compKey(snap[i].key) < compKey(snap[j].key) })
	if err := s.writeAll(snap); err != nil {
		return err
	}
	ids := make([]uint64, len(ops))
	for i, op := range ops {
		ids[i] = op.id
	}
	if err := s.log.MarkApplied(ctx, ids...); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	s.mu.Lock()
	for _, e := range snap {
		k := compKey(e.key)
		if s.pending[k] == e {
			delete(s.pending, k)
		}
	}
	s.space.Broadcast()
	s.mu.Unlock()
	if err := s.log.Checkpoint(ctx); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	return s.pruneSnapshots(prune)
}

// applyWorkers is how many component files the background applier writes
// at once: concurrent fsyncs share journal commits on most file systems.
// With [Options.SyncApply] files are written one by one, in key order.
const applyWorkers = 8

// writeAll writes the given components' newest values to their files,
// then fsyncs each directory touched once.
func (s *Store) writeAll(snap []*pendingEntry) error {
	dirs := map[string]bool{}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	record := func(dir string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil && first == nil {
			first = err
		}
		if dir != "" {
			dirs[dir] = true
		}
	}
	if s.opts.SyncApply || len(snap) < 2 {
		for _, e := range snap {
			record(s.writeComponent(e))
		}
	} else {
		work := make(chan *pendingEntry)
		for range min(applyWorkers, len(snap)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for e := range work {
					record(s.writeComponent(e))
				}
			}()
		}
		for _, e := range snap {
			work <- e
		}
		close(work)
		wg.Wait()
	}
	if first != nil {
		return first
	}
	sorted := make([]string, 0, len(dirs))
	for d := range dirs {
		sorted = append(sorted, d)
	}
	sort.Strings(sorted)
	for _, d := range sorted {
		if err := s.fs.SyncDir(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("apply: %w", err)
		}
	}
	return nil
}

// writeComponent puts one component's newest value into its file, without
// fsyncing the directory; it returns the directory to fsync ("" if none).
func (s *Store) writeComponent(e *pendingEntry) (string, error) {
	path := s.compPath(e.key)
	dir := filepath.Dir(path)
	if e.deleted {
		// During recovery a missing file may have been removed by a process
		// that died before fsyncing the directory: fsync it anyway. Later, a
		// missing file was never written or its removal was made durable.
		err := s.fs.Remove(path)
		if errors.Is(err, fs.ErrNotExist) && !s.recovering {
			return "", nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("apply: delete component: %w", err)
		}
		return dir, nil
	}
	if err := s.ensureDir(dir); err != nil {
		return "", fmt.Errorf("apply: %w", err)
	}
	if err := atomicfile.WriteNoDirSync(s.fs, path, encodeComponent(e.value), filePerm); err != nil {
		return "", fmt.Errorf("apply: %w", err)
	}
	return dir, nil
}

// Sync makes every log record appended so far durable (e.g. Begin records
// without input).
func (s *Store) Sync(ctx context.Context) error {
	if err := s.usable(); err != nil {
		return err
	}
	if err := s.log.Sync(ctx); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	return nil
}
