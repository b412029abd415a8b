package agent

import (
	"context"
	"net/http"
	"strconv"
)

// IdempotencyHeader names the request header that carries a call's
// idempotency key.
const IdempotencyHeader = "Idempotency-Key"

// idempotencyKey returns the request's idempotency key (empty if none).
func idempotencyKey(r *http.Request) string { return r.Header.Get(IdempotencyHeader) }

// Outbox lists up to limit unacknowledged answers after the entry named
// after ("" for the oldest), oldest first.
func (a *Agent) Outbox(ctx context.Context, after string, limit int) (OutboxList, error) {
	done, err := a.begin()
	if err != nil {
		return OutboxList{}, err
	}
	defer done()
	return a.outbox.list(ctx, after, limit)
}

// AckOutbox removes the answers ids from the outbox.
func (a *Agent) AckOutbox(ctx context.Context, ids []string) (AckResponse, error) {
	done, err := a.begin()
	if err != nil {
		return AckResponse{}, err
	}
	defer done()
	return a.outbox.ack(ctx, ids)
}

func (a *Agent) handleOutbox(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := DefaultOutboxLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxOutboxLimit {
			writeError(w, badRequest("invalid_argument", "limit %q is not a number from 1 to %d", s, MaxOutboxLimit))
			return
		}
		limit = n
	}
	serve(a, w, r, func(ctx context.Context, _ empty) (OutboxList, error) { return a.Outbox(ctx, q.Get("after"), limit) })
}

func (a *Agent) handleOutboxAck(w http.ResponseWriter, r *http.Request) {
	serve(a, w, r, func(ctx context.Context, req AckRequest) (AckResponse, error) {
		if len(req.IDs) == 0 {
			return AckResponse{}, badRequest("invalid_argument", "ids is required")
		}
		return a.AckOutbox(ctx, req.IDs)
	})
}
