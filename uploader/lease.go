package uploader

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// LeaseFormat is the "format" field of the lease object.
const LeaseFormat = "mlsbackup-agent-lease"

// Lease is the content of a prefix's lease object: which agent writes
// under the prefix.
type Lease struct {
	AgentID  string    `json:"agent_id"`
	Host     string    `json:"host"`
	Acquired time.Time `json:"acquired"`
}

type wireLease struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	Lease
}

// LeaseError reports that another agent holds the prefix. It wraps
// [ErrLeaseHeld].
type LeaseError struct {
	Key    string // the lease object's key
	Holder Lease
}

// Error implements error.
func (e *LeaseError) Error() string {
	return fmt.Sprintf("%s: prefix is leased to agent %q on host %q since %s; "+
		"stop that agent, or take the prefix over (--take-over) if it is gone for good",
		e.Key, e.Holder.AgentID, e.Holder.Host, e.Holder.Acquired.UTC().Format(time.RFC3339))
}

// Unwrap makes errors.Is(err, [ErrLeaseHeld]) true.
func (e *LeaseError) Unwrap() error { return ErrLeaseHeld }

// LeaseKey returns the key of the prefix's lease object.
func (b *Backup) LeaseKey() string { return b.layout.leaseKey() }

// ReadLease returns the prefix's current lease, or an error wrapping
// [ErrNotFound] if there is none.
func (b *Backup) ReadLease(ctx context.Context) (Lease, error) {
	key := b.layout.leaseKey()
	rc, err := b.store.Get(ctx, key)
	if err != nil {
		return Lease{}, objErr("read lease", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxManifestSize))
	if err != nil {
		return Lease{}, objErr("read lease", key, err)
	}
	var w wireLease
	if err := json.Unmarshal(data, &w); err != nil || w.Format != LeaseFormat || w.Version != 1 {
		return Lease{}, objErr("read lease", key, fmt.Errorf("%w: not an agent lease of version 1", ErrCorrupt))
	}
	return w.Lease, nil
}

// AcquireLease makes this agent the holder of the prefix's lease: it
// creates the lease if there is none (a conditional create, so of two
// agents racing exactly one wins), accepts it if it already names this
// agent's id, and otherwise fails with a [*LeaseError] naming the holder —
// unless Options.TakeOver is set and this Backup has not taken over
// before, in which case it replaces the lease (delete, then conditional
// create) and logs a warning.
func (b *Backup) AcquireLease(ctx context.Context) (Lease, error) {
	b.leaseMu.Lock()
	defer b.leaseMu.Unlock()
	return b.acquireLocked(ctx)
}

func (b *Backup) acquireLocked(ctx context.Context) (Lease, error) {
	if b.opts.AgentID == "" {
		return Lease{}, ErrNoAgentID
	}
	key := b.layout.leaseKey()
	for range 3 {
		cur, err := b.ReadLease(ctx)
		switch {
		case errors.Is(err, ErrNotFound):
			l, err := b.createLease(ctx)
			if errors.Is(err, ErrExists) {
				continue // another agent created it first: look at it
			}
			if err != nil {
				return Lease{}, err
			}
			b.log.Info("acquired prefix lease", "key", key, "agent", l.AgentID)
			b.leaseHeld, b.leaseCheck = true, b.opts.Now()
			return l, nil
		case err != nil && !(errors.Is(err, ErrCorrupt) && b.opts.TakeOver && !b.tookOver):
			return Lease{}, err
		case err != nil:
			// An unreadable lease can only be replaced by a takeover.
		case cur.AgentID == b.opts.AgentID:
			b.leaseHeld, b.leaseCheck = true, b.opts.Now()
			return cur, nil
		case !b.opts.TakeOver || b.tookOver:
			return Lease{}, &LeaseError{Key: key, Holder: cur}
		}
		// Take over, once: delete the holder's lease and create ours.
		b.tookOver = true
		b.log.Warn("taking over prefix lease", "key", key, "previous_agent", cur.AgentID,
			"previous_host", cur.Host, "agent", b.opts.AgentID)
		if err := b.store.Delete(ctx, key); err != nil {
			return Lease{}, objErr("take over lease", key, err)
		}
	}
	return Lease{}, objErr("acquire lease", key, errors.New("lease keeps changing; another agent is contending for it"))
}

func (b *Backup) createLease(ctx context.Context) (Lease, error) {
	key := b.layout.leaseKey()
	l := Lease{AgentID: b.opts.AgentID, Host: b.opts.Host, Acquired: b.opts.Now().UTC()}
	data, err := json.MarshalIndent(wireLease{Format: LeaseFormat, Version: 1, Lease: l}, "", "  ")
	if err != nil {
		return Lease{}, fmt.Errorf("encode lease: %w", err)
	}
	data = append(data, '\n')
	if err := b.store.Put(ctx, key, bytes.NewReader(data), int64(len(data)), true); err != nil {
		return Lease{}, objErr("create lease", key, err)
	}
	return l, nil
}

// ensureLease is called before every write. It acquires the lease the
// first time and afterwards re-reads it at most every LeaseCheckInterval,
// failing with a [*LeaseError] once another agent has taken it over.
func (b *Backup) ensureLease(ctx context.Context) error {
	b.leaseMu.Lock()
	defer b.leaseMu.Unlock()
	if b.opts.AgentID == "" {
		return ErrNoAgentID
	}
	if b.leaseHeld && b.opts.Now().Sub(b.leaseCheck) < b.opts.LeaseCheckInterval {
		return nil
	}
	if b.leaseHeld {
		// A re-check never takes over: an agent that lost its lease stops.
		b.tookOver = true
	}
	b.leaseHeld = false
	_, err := b.acquireLocked(ctx)
	return err
}

// ReleaseLease deletes the prefix's lease if this agent holds it, so that
// another agent can write without taking over. A missing lease is not an
// error; another agent's lease is a [*LeaseError].
func (b *Backup) ReleaseLease(ctx context.Context) error {
	b.leaseMu.Lock()
	defer b.leaseMu.Unlock()
	key := b.layout.leaseKey()
	cur, err := b.ReadLease(ctx)
	switch {
	case errors.Is(err, ErrNotFound):
		b.leaseHeld = false
		return nil
	case err != nil:
		return err
	case cur.AgentID != b.opts.AgentID:
		return &LeaseError{Key: key, Holder: cur}
	}
	if err := b.store.Delete(ctx, key); err != nil {
		return objErr("release lease", key, err)
	}
	b.leaseHeld = false
	b.log.Info("released prefix lease", "key", key, "agent", b.opts.AgentID)
	return nil
}
