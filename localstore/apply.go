package localstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/wal"
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
		return nil, s.logErr("begin "+kind, len(input), err)
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
// [Options.SyncApply]) and the log is checkpointed. If the log write fails
// (a full disk), Apply returns an error wrapping [ErrWriteFailed] and
// nothing of the batch is stored or visible.
func (s *Store) Apply(ctx context.Context, b *engine.Batch) error {
	if err := s.usable(); err != nil {
		return err
	}
	if err := validateBatch(b); err != nil {
		return err
	}
	id, err := s.log.Begin(ctx, b.Op, nil, false)
	if err != nil {
		return s.logErr("apply "+b.Op, 0, err)
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
		return s.logErr("replace group", 0, err)
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
	return nil
}

// logErr wraps an error of the log: a failed write (of a record of about
// size bytes) is noted in the health and wrapped with [ErrWriteFailed].
func (s *Store) logErr(op string, size int, err error) error {
	if errors.Is(err, wal.ErrWriteFailed) {
		s.noteWriteSize(stageLog, size, err)
		return fmt.Errorf("%s: %w: %w", op, ErrWriteFailed, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// commit logs b as the payload of operation id, installs it in the overlay
// and waits until it is durable. augment, if set, adds changes under the
// store lock so that they are computed from the state the batch applies
// to. If the log write fails, the batch is taken out of the overlay again
// and the operation aborted: nothing of it remains.
func (s *Store) commit(ctx context.Context, id uint64, in *engine.Batch, augment func(*engine.Batch) error) error {
	b := &engine.Batch{Op: in.Op, Group: in.Group, Puts: in.Puts, Deletes: append([]engine.Key(nil), in.Deletes...)}
	abort := func(err error) error {
		_ = s.log.Abort(context.WithoutCancel(ctx), id)
		return err
	}
	s.mu.Lock()
	for !s.opts.SyncApply && s.pending.len() >= s.opts.MaxPending && !s.closed {
		if err := s.health.err(stageApply); err != nil {
			// The applier cannot make room: fail now rather than wait
			// for space to come back.
			s.mu.Unlock()
			return abort(fmt.Errorf("apply %s: %w: %d components wait for the files, which cannot be written: %w", b.Op, ErrWriteFailed, s.opts.MaxPending, err))
		}
		for _, c := range []chan struct{}{s.kick, s.urgent} {
			select {
			case c <- struct{}{}:
			default:
			}
		}
		s.space.Wait()
	}
	if s.closed {
		s.mu.Unlock()
		return abort(fmt.Errorf("apply %s: %w", b.Op, ErrClosed))
	}
	// Compute the batch from the state as the log has it.
	s.rollbackLocked()
	var prune map[string]pruneMark
	var err error
	if augment != nil {
		err = augment(b)
	}
	if err == nil {
		prune, err = s.addRetentionLocked(b)
	}
	if err != nil {
		s.mu.Unlock()
		return abort(fmt.Errorf("apply %s: %w", b.Op, err))
	}
	payload := encodeBatch(b)
	ticket, err := s.log.CommitAsync(ctx, id, payload)
	if err != nil {
		s.mu.Unlock()
		// Nothing was appended (e.g. ctx ended, or the log refuses
		// appends after a failed write): finish the operation so that it
		// does not pin its segment.
		return abort(s.logErr("apply "+b.Op, len(payload), err))
	}
	if err := s.installLocked(b, ticket, prune); err != nil {
		s.mu.Unlock()
		return abort(s.logErr("apply "+b.Op, len(payload), err))
	}
	s.queue = append(s.queue, queued{id: id, ticket: ticket})
	s.mu.Unlock()
	s.logBytes.Add(int64(len(payload)))

	if err := s.log.WaitDurable(ticket); err != nil {
		s.mu.Lock()
		s.rollbackLocked()
		s.mu.Unlock()
		return abort(s.logErr("apply "+b.Op, len(payload), err))
	}
	s.noteWrite(stageLog, nil)
	if s.opts.SyncApply {
		// The batch is durable: whatever happens to the files now, the
		// answer is yes (a failure is retried, see Store.Health).
		_ = s.flushNoting(ctx)
		return nil
	}
	select {
	case s.kick <- struct{}{}:
	default:
	}
	return nil
}

// installLocked puts the batch committed with ticket into the overlay and
// the epoch index, and notes the snapshots it lets the applier prune. If
// the batch's record was lost already, it installs nothing and returns the
// log's error. s.mu is held since the rollbackLocked that preceded the
// append, so a change of the failure count since then is a write that
// failed after the append began.
func (s *Store) installLocked(b *engine.Batch, ticket uint64, prune map[string]pruneMark) error {
	// Durable is read before the failure check, so that every entry at or
	// below it is known durable (see wal.Log.Durable).
	durable := s.log.Durable()
	if s.log.Failures() != s.seenFailures {
		s.rollbackLocked()
		if s.log.Lost(ticket) {
			return s.log.WaitDurable(ticket)
		}
	}
	s.noteEpochsLocked(b)
	for _, d := range b.Deletes {
		s.installEntryLocked(&pendingEntry{key: d, deleted: true, ticket: ticket}, durable)
	}
	for _, p := range b.Puts {
		s.installEntryLocked(&pendingEntry{key: p.Key, value: bytes.Clone(p.Value), ticket: ticket}, durable)
	}
	for gh, m := range prune {
		m.ticket = ticket
		s.prune[gh] = m
	}
	return nil
}

// Sync makes every log record appended so far durable (e.g. Begin records
// without input).
func (s *Store) Sync(ctx context.Context) error {
	if err := s.usable(); err != nil {
		return err
	}
	if err := s.log.Sync(ctx); err != nil {
		return s.logErr("sync", 0, err)
	}
	return nil
}
