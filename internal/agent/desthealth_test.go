package agent

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/internal/destcheck"
	"github.com/mlsbackup/mlsbackup/internal/faultproxy"
)

// TestStartsDegradedOnUnreachableDestination: an agent whose destination
// cannot be reached at start keeps serving MLS, but GET /healthz answers
// 200 "degraded" naming the failed check, and mlsbackup_destination_ok is
// 0, until a re-check finds the destination back.
func TestStartsDegradedOnUnreachableDestination(t *testing.T) {
	ctx := ctxT(t)
	srv := sharedMinIO.Server(t)
	proxy, err := faultproxy.Start(strings.TrimPrefix(srv.Endpoint, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	proxy.SetDown(true)
	ta := newTestAgent(t, agentOpts{fromConfig: true, edit: func(c *config.Config) {
		useS3(c, srv, "degraded")
		c.Destination.S3.Endpoint = proxy.URL()
		c.Destination.S3.MaxAttempts = 1
	}})

	h := ta.waitHealth(t, "degraded")
	if !strings.Contains(h.Reason, "bucket check failed (unreachable)") {
		t.Errorf("degraded reason %q does not name the failed check and cause", h.Reason)
	}
	for _, leak := range []string{srv.SecretKey, proxy.Addr(), srv.Bucket} {
		if strings.Contains(h.Reason, leak) {
			t.Errorf("healthz reason %q shows %q", h.Reason, leak)
		}
	}
	if got := ta.metric(t, "mlsbackup_destination_ok"); got != "0" {
		t.Errorf("mlsbackup_destination_ok = %s while degraded, want 0", got)
	}
	// MLS is served meanwhile.
	if _, err := ta.c.Create(ctx, CreateRequest{GroupID: hexEncode([]byte("still-served"))}); err != nil {
		t.Fatalf("create while degraded: %v", err)
	}

	proxy.SetDown(false)
	ta.waitHealth(t, "ok")
	if got := ta.metric(t, "mlsbackup_destination_ok"); got != "1" {
		t.Errorf("mlsbackup_destination_ok = %s after recovery, want 1", got)
	}
}

// TestUploadClearsDegraded: a complete upload proves the destination
// works and clears a failed check at once.
func TestUploadClearsDegraded(t *testing.T) {
	ctx := ctxT(t)
	ta := newTestAgent(t, agentOpts{})
	for ta.a.destHealth.checked() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	ta.waitHealth(t, "ok")
	ta.a.destHealth.set(destcheck.Report{Checks: []destcheck.Result{
		{Check: destcheck.CheckWrite, Status: destcheck.StatusFail, Cause: destcheck.CausePermission},
	}}, time.Now())
	ta.waitHealth(t, "degraded")
	gid := []byte("clears")
	if _, err := ta.c.Create(ctx, CreateRequest{GroupID: hexEncode(gid)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ta.c.Snapshot(ctx, gid); err != nil {
		t.Fatal(err)
	}
	if status, h := ta.healthz(); status != http.StatusOK || h.Status != "ok" {
		t.Fatalf("healthz after an upload = %d %+v, want 200 ok", status, h)
	}
}

// waitHealth polls GET /healthz until its status is want (always 200).
func (ta *testAgent) waitHealth(t *testing.T, want string) HealthResponse {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, h := ta.healthz()
		if h.Status == want {
			if status != http.StatusOK {
				t.Fatalf("healthz %q with HTTP %d, want 200", want, status)
			}
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz = %d %+v after 30 s, want %q", status, h, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// metric returns the value of an unlabelled metric.
func (ta *testAgent) metric(t *testing.T, name string) string {
	t.Helper()
	text, err := ta.c.Metrics(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	t.Fatalf("no metric %s", name)
	return ""
}
