package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/mlsbackup/mlsbackup/uploader"
)

// httpErr builds the error the SDK returns for an HTTP answer.
func httpErr(status int, code string) error {
	var inner error = &smithy.GenericAPIError{Code: code, Message: "test"}
	if code == "" {
		inner = errors.New("http error")
	}
	return &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err:      inner,
	}
}

func TestTransient(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"500", httpErr(500, "InternalError"), true},
		{"503 slow down", httpErr(503, "SlowDown"), true},
		{"502 without code", httpErr(502, ""), true},
		{"429", httpErr(429, ""), true},
		{"400 request timeout", httpErr(400, "RequestTimeout"), true},
		{"409 conditional conflict", httpErr(409, "ConditionalRequestConflict"), true},
		{"403 access denied", httpErr(403, "AccessDenied"), false},
		{"403 signature", httpErr(403, "SignatureDoesNotMatch"), false},
		{"404 no such key", httpErr(404, "NoSuchKey"), false},
		{"404 no such bucket", httpErr(404, "NoSuchBucket"), false},
		{"412 precondition", httpErr(412, "PreconditionFailed"), false},
		// A body corrupted in transit: resent (checksum.go).
		{"400 bad digest", httpErr(400, "BadDigest"), true},
		{"400 checksum mismatch", httpErr(400, "XAmzContentChecksumMismatch"), true},
		{"400 sha256 mismatch", httpErr(400, "XAmzContentSHA256Mismatch"), true},
		{"400 invalid digest", httpErr(400, "InvalidDigest"), false},
		{"connection reset", fmt.Errorf("send: %w", &net.OpError{Op: "read", Err: syscall.ECONNRESET}), true},
		{"connection refused", &smithyhttp.RequestSendError{Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, true},
		{"unexpected EOF", fmt.Errorf("deserialize: %w", io.ErrUnexpectedEOF), true},
		{"timeout", &net.OpError{Op: "read", Err: timeoutErr{}}, true},
		{"canceled", fmt.Errorf("op: %w", context.Canceled), false},
		{"canceled while sending", &smithyhttp.RequestSendError{Err: context.Canceled}, false},
		{"other", errors.New("invalid argument"), false},
	}
	for _, tc := range tests {
		if got := transient(tc.err); got != tc.want {
			t.Errorf("%s: transient = %v, want %v", tc.name, got, tc.want)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestSentinel(t *testing.T) {
	tests := []struct {
		err  error
		want error
	}{
		{httpErr(404, "NoSuchKey"), uploader.ErrNotFound},
		{httpErr(404, ""), uploader.ErrNotFound},
		{httpErr(404, "NoSuchBucket"), uploader.ErrNoBucket},
		{httpErr(403, "AccessDenied"), uploader.ErrAccessDenied},
		{httpErr(403, "InvalidAccessKeyId"), uploader.ErrBadCredentials},
		{httpErr(403, "SignatureDoesNotMatch"), uploader.ErrBadCredentials},
		{httpErr(403, ""), uploader.ErrAccessDenied},
		{httpErr(412, "PreconditionFailed"), uploader.ErrExists},
		{httpErr(404, "XAdminUserNotFound"), uploader.ErrBadCredentials},
		{httpErr(404, "UnknownCode"), nil},
		{httpErr(500, "InternalError"), nil},
	}
	for _, tc := range tests {
		if got := sentinel(tc.err); got != tc.want {
			t.Errorf("sentinel(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	s := &Store{cfg: Config{RetryBaseDelay: 100 * time.Millisecond, RetryMaxDelay: time.Second}}
	tests := []struct {
		attempt int
		full    time.Duration
	}{
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{3, 400 * time.Millisecond},
		{4, 800 * time.Millisecond},
		{5, time.Second},
		{30, time.Second},
	}
	for _, tc := range tests {
		for range 50 {
			if got := s.backoff(tc.attempt); got < tc.full/2 || got > tc.full {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", tc.attempt, got, tc.full/2, tc.full)
			}
		}
	}
}

func TestRetry(t *testing.T) {
	s := &Store{cfg: Config{MaxAttempts: 4, RetryBaseDelay: time.Millisecond, RetryMaxDelay: time.Millisecond}}
	transientErr := httpErr(503, "SlowDown")
	tests := []struct {
		name      string
		fails     int   // calls that fail before success
		err       error // the failure
		cancelAt  int   // cancel the context during this call (0: never)
		wantCalls int
		wantErr   error
	}{
		{"success", 0, nil, 0, 1, nil},
		{"transient then success", 3, transientErr, 0, 4, nil},
		{"transient exhausts attempts", 10, transientErr, 0, 4, transientErr},
		{"permanent is not retried", 10, httpErr(403, "AccessDenied"), 0, 1, uploader.ErrAccessDenied},
		{"cancel stops retries", 10, transientErr, 2, 2, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			calls := 0
			err := s.retry(ctx, func(ctx context.Context, attempt int) error {
				calls++
				if attempt != calls {
					t.Fatalf("attempt %d on call %d", attempt, calls)
				}
				if calls == tc.cancelAt {
					cancel()
				}
				if calls <= tc.fails {
					return tc.err
				}
				return nil
			})
			if calls != tc.wantCalls {
				t.Errorf("%d calls, want %d", calls, tc.wantCalls)
			}
			switch {
			case tc.wantErr == nil && err != nil:
				t.Errorf("got %v, want success", err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr) && !errors.Is(s.wrap("op", "k", err), tc.wantErr):
				t.Errorf("got %v, want %v", err, tc.wantErr)
			}
		})
	}
}
