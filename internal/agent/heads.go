package agent

import (
	"context"
	"sync"
	"time"
)

// headInterval is the least time between two heads the agent writes
// while uploads go on. A head lists every group (about 200 bytes each),
// so one per upload would cost as much as the uploads; a manifest
// uploaded after the newest head can be deleted undetected until the
// next head, which this bounds.
const headInterval = 10 * time.Second

// headWriter writes the prefix's signed heads for the agent (see
// uploader.Backup.WriteHead), coalesced: after uploads, at most every
// headInterval; at the end of every snapshot pass; and at close. Without
// a signing key it does nothing.
type headWriter struct {
	a    *Agent
	kick chan struct{} // an upload was made; buffered, one pending kick
	// mu serializes writes; last is when the last one ended.
	mu   sync.Mutex
	last time.Time
}

func newHeadWriter(a *Agent) *headWriter {
	return &headWriter{a: a, kick: make(chan struct{}, 1)}
}

// uploaded notes a complete upload: a head follows within headInterval.
func (h *headWriter) uploaded() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// run writes a head after uploads, at most every headInterval, until ctx
// ends. The first comes headInterval after the start at the earliest:
// the agent's first uploads are mostly a pass, which writes its own.
func (h *headWriter) run(ctx context.Context) {
	h.mu.Lock()
	h.last = time.Now()
	h.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.kick:
		}
		h.mu.Lock()
		wait := headInterval - time.Since(h.last)
		h.mu.Unlock()
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		h.write(ctx, "uploads")
	}
}

// flush writes a head now if manifests were signed since the last one,
// within the drain timeout (end of a pass, close).
func (h *headWriter) flush(why string) {
	ctx, cancel := context.WithTimeout(context.Background(), h.a.opts.DrainTimeout)
	defer cancel()
	h.write(ctx, why)
}

// write writes a head if manifests were signed since the last one. A
// failure is logged and counted; the next upload, pass or close tries
// again.
func (h *headWriter) write(ctx context.Context, why string) {
	b := h.a.backup
	if b.Signer().IsZero() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !b.HeadPending() {
		return
	}
	head, err := b.WriteHead(ctx)
	h.last = time.Now()
	if err != nil {
		h.a.metrics.failed.WithLabelValues("head").Inc()
		h.a.log.Warn("writing the destination's head failed; it is tried again after the next upload", "reason", why, "err", err)
		return
	}
	h.a.metrics.heads.Inc()
	h.a.log.Debug("head written", "reason", why, "key", head.Key, "sequence", head.Sequence, "groups", len(head.Groups))
}

// seedChain learns the destination's chain (its newest head and each
// group's newest manifest) at start, so that the first upload does not
// wait for it and a problem shows in the log at once. A failure is
// logged; the first upload tries again.
func (a *Agent) seedChain(ctx context.Context) {
	if a.backup.Signer().IsZero() {
		return
	}
	if err := a.backup.LoadChain(ctx); err != nil && ctx.Err() == nil {
		a.log.Warn("reading the destination's chain failed; the first upload tries again", "destination", a.backup.String(), "err", err)
	}
}
