package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlsbackup/mlsbackup/engine"
)

// DefaultOutboxLimit and MaxOutboxLimit bound the entries one GET
// /v1/outbox returns.
const (
	DefaultOutboxLimit = 100
	MaxOutboxLimit     = 1000
)

// outboxMetrics count the outbox's entries, drops and replays.
type outboxMetrics struct {
	entries prometheus.Gauge
	dropped prometheus.Counter
	replays prometheus.Counter
	acked   prometheus.Counter
}

func newOutboxMetrics() *outboxMetrics {
	return &outboxMetrics{
		entries: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mlsbackup_outbox_entries", Help: "Stored answers the application has not acknowledged.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mlsbackup_outbox_dropped_total", Help: "Unacknowledged answers dropped by agent.outbox_keep (age or count).",
		}),
		replays: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mlsbackup_outbox_replays_total", Help: "Calls answered from the outbox (a retry with the same idempotency key, or a redelivered message).",
		}),
		acked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mlsbackup_outbox_acked_total", Help: "Answers the application acknowledged.",
		}),
	}
}

// collectors returns the metrics to register.
func (m *outboxMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.entries, m.dropped, m.replays, m.acked}
}

// list returns up to limit entries after the entry named after (from the
// oldest if empty), oldest first.
func (o *outbox) list(ctx context.Context, after string, limit int) (OutboxList, error) {
	o.mu.Lock()
	i := 0
	if after != "" {
		i = sort.SearchStrings(o.names, after)
		if i < len(o.names) && o.names[i] == after {
			i++
		}
	}
	end := min(i+limit, len(o.names))
	names := slices.Clone(o.names[i:end])
	more := end < len(o.names)
	o.mu.Unlock()
	out := OutboxList{Entries: []OutboxEntry{}, More: more}
	for _, n := range names {
		b, err := o.st.Get(ctx, engine.Key{Kind: outboxKind, Name: n})
		if errors.Is(err, engine.ErrNotFound) {
			continue // acknowledged meanwhile
		}
		if err != nil {
			return OutboxList{}, fmt.Errorf("read outbox entry: %w", err)
		}
		var rec outboxRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			return OutboxList{}, fmt.Errorf("outbox entry %s: %w", n, err)
		}
		out.Entries = append(out.Entries, OutboxEntry{ID: n, Op: rec.Op, GroupID: rec.GroupID, Created: rec.Created,
			IdempotencyKey: rec.Key, Response: rec.Response})
	}
	return out, nil
}

// ack removes the entries ids in one batch.
func (o *outbox) ack(ctx context.Context, ids []string) (AckResponse, error) {
	resp := AckResponse{}
	o.mu.Lock()
	var known []string
	for _, id := range ids {
		i := sort.SearchStrings(o.names, id)
		if i < len(o.names) && o.names[i] == id && !slices.Contains(known, id) {
			known = append(known, id)
		} else if !slices.Contains(known, id) {
			resp.Unknown = append(resp.Unknown, id)
		}
	}
	o.mu.Unlock()
	if err := o.remove(ctx, "AckOutbox", known); err != nil {
		return AckResponse{}, err
	}
	resp.Acked = len(known)
	o.m.acked.Add(float64(len(known)))
	return resp, nil
}

// remove deletes the entries names (all in the index) in one batch and
// drops them from the index once it is durable.
func (o *outbox) remove(ctx context.Context, op string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	b := &engine.Batch{Op: op}
	for _, n := range names {
		b.Deletes = append(b.Deletes, engine.Key{Kind: outboxKind, Name: n})
	}
	if err := o.st.Apply(ctx, b); err != nil {
		return fmt.Errorf("remove outbox entries: %w", err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	gone := map[string]bool{}
	for _, n := range names {
		gone[n] = true
		if _, kh, ok := parseEntryName(n); ok && o.byKey[kh] == n {
			delete(o.byKey, kh)
		}
	}
	o.names = slices.DeleteFunc(o.names, func(n string) bool { return gone[n] })
	o.m.entries.Set(float64(len(o.names)))
	return nil
}

// trim drops the entries beyond agent.outbox_keep: older than its age, or
// the oldest beyond its count. Each drop loses an answer the application
// never acknowledged, so it is logged.
func (o *outbox) trim(ctx context.Context) {
	cutoff := uint64(o.now().Add(-o.keep.Age).UnixNano())
	o.mu.Lock()
	n := 0
	for n < len(o.names) {
		seq, _, _ := parseEntryName(o.names[n])
		if seq >= cutoff && len(o.names)-n <= o.keep.Entries {
			break
		}
		n++
	}
	drop := slices.Clone(o.names[:n])
	o.mu.Unlock()
	if len(drop) == 0 {
		return
	}
	if err := o.remove(ctx, "TrimOutbox", drop); err != nil {
		o.log.Error("outbox: drop entries beyond agent.outbox_keep", "entries", len(drop), "err", err)
		return
	}
	o.m.dropped.Add(float64(len(drop)))
	o.log.Warn("outbox: dropped answers the application never acknowledged (agent.outbox_keep)",
		"entries", len(drop), "max_age", o.keep.Age, "max_entries", o.keep.Entries)
}

// outboxSweepInterval is how often the agent drops outbox entries older
// than agent.outbox_keep.age when no call adds one.
const outboxSweepInterval = time.Minute

// sweep trims the outbox every outboxSweepInterval until ctx ends.
func (o *outbox) sweep(ctx context.Context) {
	t := time.NewTicker(outboxSweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			o.trim(ctx)
		}
	}
}
