package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// retry runs call until it succeeds, fails permanently, runs out of
// attempts or ctx ends. call gets the attempt number, from 1. The last
// error is returned as is (callers map it); when attempts ran out the
// error says how many there were.
func (s *Store) retry(ctx context.Context, call func(ctx context.Context, attempt int) error) error {
	for attempt := 1; ; attempt++ {
		err := call(ctx, attempt)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		}
		if !transient(err) {
			return err
		}
		if attempt >= s.cfg.MaxAttempts {
			return fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		t := time.NewTimer(s.backoff(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// backoff is the wait after the given failed attempt: exponential from
// RetryBaseDelay, capped at RetryMaxDelay, with "equal jitter" — half
// fixed, half random — so that concurrent clients spread out.
func (s *Store) backoff(attempt int) time.Duration {
	d := s.cfg.RetryBaseDelay
	for i := 1; i < attempt && d < s.cfg.RetryMaxDelay; i++ {
		d *= 2
	}
	d = min(d, s.cfg.RetryMaxDelay)
	half := d / 2
	return half + rand.N(half+1)
}

// transientCode reports whether an S3 error code is worth another
// attempt, and whether the code is known at all.
func transientCode(code string) (retry, known bool) {
	switch code {
	case "InternalError", "ServiceUnavailable", "SlowDown", "Throttling", "ThrottlingException",
		"RequestTimeout", "RequestTimeoutException", "RequestLimitExceeded", "TooManyRequestsException",
		"BandwidthLimitExceeded", "OperationAborted", "XMinioServerNotInitialized",
		// S3: a concurrent conditional write was in progress; the retry
		// gets a definite answer.
		"ConditionalRequestConflict",
		// The body the server received does not match its checksum
		// (CRC32C or the signed SHA-256): corrupted in transit. The
		// retry resends it from its buffer (checksum.go).
		"BadDigest", "XAmzContentChecksumMismatch", "XAmzContentSHA256Mismatch":
		return true, true
	}
	return false, false
}

// transient reports whether err may go away on retry: a server-side
// 5xx, 408 or 429, a throttling code, or a network failure (reset,
// refused, timed out, cut short). Cancellation is never transient.
func transient(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if retry, known := transientCode(apiErr.ErrorCode()); known {
			return retry
		}
	}
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) {
		switch code := respErr.HTTPStatusCode(); {
		case code >= 500, code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
			return true
		case code >= 300:
			// Answered with a definite error. A reply cut short while
			// its body was read is a network failure, handled below.
			if !networkFailure(err) {
				return false
			}
		}
	}
	var sendErr *smithyhttp.RequestSendError
	if errors.As(err, &sendErr) {
		return true
	}
	return networkFailure(err)
}

// networkFailure recognises connections that broke or timed out.
func networkFailure(err error) bool {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}
