package localstore

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/mlsbackup/mlsbackup/engine"
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
	for !s.opts.SyncApply && s.pending.len() >= s.opts.MaxPending && s.err == nil && !s.closed {
		for _, c := range []chan struct{}{s.kick, s.urgent} {
			select {
			case c <- struct{}{}:
			default:
			}
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
	payload := encodeBatch(b)
	ticket, err := s.log.CommitAsync(ctx, id, payload)
	if err != nil {
		s.mu.Unlock()
		// Nothing was appended (e.g. ctx ended): finish the operation so
		// that it does not pin its segment.
		_ = s.log.Abort(context.WithoutCancel(ctx), id)
		return fmt.Errorf("apply %s: %w", b.Op, err)
	}
	s.noteEpochsLocked(b)
	for _, d := range b.Deletes {
		s.pending.set(compKey(d), &pendingEntry{key: d, deleted: true, ticket: ticket})
	}
	for _, p := range b.Puts {
		s.pending.set(compKey(p.Key), &pendingEntry{key: p.Key, value: bytes.Clone(p.Value), ticket: ticket})
	}
	s.queue = append(s.queue, queued{id: id, ticket: ticket})
	s.mu.Unlock()
	s.logBytes.Add(int64(len(payload)))

	if err := s.log.WaitDurable(ticket); err != nil {
		s.setErr(err)
		return fmt.Errorf("apply %s: %w", b.Op, err)
	}
	if s.opts.SyncApply {
		if err := s.flush(ctx, true); err != nil {
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

// runApplier applies committed batches to the files in the background and
// checkpoints the log once [Options.CheckpointInterval] has passed since
// the oldest write not yet made durable.
func (s *Store) runApplier() {
	defer close(s.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	armed := false
	gather := time.NewTimer(time.Hour)
	gather.Stop()
	for {
		select {
		case <-s.stop:
			timer.Stop()
			return
		case <-s.kick:
			if s.opts.ApplyDelay > 0 {
				// Let more batches gather: a component changed by several
				// of them is written once.
				gather.Reset(s.opts.ApplyDelay)
				select {
				case <-s.stop:
					gather.Stop()
					timer.Stop()
					return
				case <-gather.C:
				case <-s.urgent:
					gather.Stop()
				}
			}
			if err := s.flush(context.Background(), false); err != nil {
				s.setErr(err)
			}
		case <-timer.C:
			armed = false
			if err := s.flush(context.Background(), true); err != nil {
				s.setErr(err)
			}
		}
		if due, ok := s.checkpointDue(); ok && !armed {
			timer.Reset(max(time.Until(due), 0))
			armed = true
		}
	}
}

// Flush waits until every batch committed so far is applied to the
// component files, the files are durable and the log is checkpointed (its
// applied segments deleted).
func (s *Store) Flush(ctx context.Context) error {
	if err := s.usable(); err != nil {
		return err
	}
	return s.flush(ctx, true)
}

// flush runs one applier round: it writes the newest value of every
// pending component to its file (without fsync, unless checkpoint is set
// or the store applies synchronously) and releases the overlay. It then
// checkpoints if checkpoint is set or a threshold is reached.
func (s *Store) flush(ctx context.Context, checkpoint bool) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	checkpoint = checkpoint || s.opts.SyncApply
	s.mu.Lock()
	if s.err != nil {
		defer s.mu.Unlock()
		return s.err
	}
	ops := s.queue
	s.queue = nil
	snap := make([]*pendingEntry, 0, s.pending.len())
	for _, e := range s.pending.all {
		snap = append(snap, e)
	}
	prune := s.prune
	s.prune = map[string]uint64{}
	s.mu.Unlock()
	if len(ops) > 0 {
		if err := s.log.WaitDurable(ops[len(ops)-1].ticket); err != nil {
			return err
		}
		sort.Slice(snap, func(i, j int) bool { return compKey(snap[i].key) < compKey(snap[j].key) })
		if err := s.writeAll(snap); err != nil {
			return err
		}
		for _, op := range ops {
			s.ckpt.written = append(s.ckpt.written, op.id)
		}
		if s.ckpt.since.IsZero() {
			s.ckpt.since = time.Now()
		}
		s.mu.Lock()
		for _, e := range snap {
			s.pending.removeIf(compKey(e.key), e)
		}
		s.space.Broadcast()
		s.mu.Unlock()
	}
	if (checkpoint || s.ckptThresholdLocked()) && !s.ckpt.empty() {
		if err := s.checkpointLocked(ctx); err != nil {
			return err
		}
	}
	return s.pruneSnapshots(prune)
}

// applyWorkers is how many component files the background applier writes
// (or fsyncs before a checkpoint) at once: concurrent fsyncs share journal
// commits on most file systems. With [Options.SyncApply] files are written
// one by one, in key order.
const applyWorkers = 8

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
