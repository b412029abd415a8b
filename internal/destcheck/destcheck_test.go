package destcheck

import (
	"strings"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/testenv"
	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/dirstore"
	"github.com/mlsbackup/mlsbackup/uploader/s3store"
)

var sharedMinIO = testenv.NewSharedMinIO()

func TestMain(m *testing.M) {
	defer sharedMinIO.Close()
	m.Run()
}

const prefix = "prod/agent-1"

// s3Config is a store configuration for srv with quick retries.
func s3Config(srv *testenv.Server) s3store.Config {
	return s3store.Config{
		Bucket:          srv.Bucket,
		Region:          srv.Region,
		Endpoint:        srv.Endpoint,
		PathStyle:       true,
		AccessKeyID:     srv.AccessKey,
		SecretAccessKey: srv.SecretKey,
		MaxAttempts:     2,
		RetryBaseDelay:  10 * time.Millisecond,
	}
}

func openS3(t *testing.T, cfg s3store.Config) *s3store.Store {
	t.Helper()
	st, err := s3store.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// result returns the named check of rep.
func result(t *testing.T, rep Report, check string) Result {
	t.Helper()
	for _, r := range rep.Checks {
		if r.Check == check {
			return r
		}
	}
	t.Fatalf("no %s check in %+v", check, rep.Checks)
	return Result{}
}

// wantFailure checks that rep failed first at check with cause, and that
// no check after it that needs the destination ran.
func wantFailure(t *testing.T, rep Report, check string, cause Cause) Result {
	t.Helper()
	if rep.OK {
		t.Fatalf("report OK, want %s to fail: %+v", check, rep.Checks)
	}
	f, _ := rep.Failure()
	if f.Check != check || f.Cause != cause {
		t.Fatalf("first failure %s (%s): %s; want %s (%s)", f.Check, f.Cause, f.Detail, check, cause)
	}
	return f
}

func TestDestinationOK(t *testing.T) {
	srv := sharedMinIO.Server(t)
	st := openS3(t, s3Config(srv))
	rep := Destination(t.Context(), Options{Store: st, Prefix: prefix, AgentID: "alice"})
	if !rep.OK {
		t.Fatalf("not OK: %+v", rep.Checks)
	}
	var names []string
	for _, r := range rep.Checks {
		names = append(names, r.Check+"="+string(r.Status))
	}
	want := "credentials=ok bucket=ok write=ok lease=ok clock=ok"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("checks %q, want %q", got, want)
	}
	if rep.ClockSkewSeconds == nil || *rep.ClockSkewSeconds > 60 || *rep.ClockSkewSeconds < -60 {
		t.Errorf("clock skew %v, want a measured value near zero", rep.ClockSkewSeconds)
	}
	// The probe is gone and wrote no lease.
	objs, err := st.List(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 0 {
		t.Errorf("the check left %d objects: %+v", len(objs), objs)
	}
}

// TestUnreachableEndpoint: a closed loopback port.
func TestUnreachableEndpoint(t *testing.T) {
	addr, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	st := openS3(t, s3store.Config{Bucket: "b", Region: "us-east-1", Endpoint: "http://" + addr, PathStyle: true,
		AccessKeyID: "AKID", SecretAccessKey: "secret-value", MaxAttempts: 1})
	rep := Destination(t.Context(), Options{Store: st, Prefix: prefix, AgentID: "alice"})
	f := wantFailure(t, rep, CheckBucket, CauseUnreachable)
	if !strings.Contains(f.Detail, "cannot be reached") || !strings.Contains(f.Detail, "connection refused") {
		t.Errorf("detail %q does not say the endpoint cannot be reached", f.Detail)
	}
	for _, c := range []string{CheckWrite, CheckLease, CheckClock} {
		if r := result(t, rep, c); r.Status != StatusSkipped {
			t.Errorf("%s: %s, want skipped", c, r.Status)
		}
	}
}

func TestWrongCredentials(t *testing.T) {
	srv := sharedMinIO.Server(t)
	for _, tc := range []struct {
		name string
		edit func(*s3store.Config)
	}{
		{"wrong secret", func(c *s3store.Config) { c.SecretAccessKey = "wrong-secret-value" }},
		{"unknown access key", func(c *s3store.Config) { c.AccessKeyID = "AKNOSUCHKEY" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := s3Config(srv)
			tc.edit(&cfg)
			rep := Destination(t.Context(), Options{Store: openS3(t, cfg), Prefix: prefix, AgentID: "alice"})
			f := wantFailure(t, rep, CheckBucket, CauseCredentials)
			if !strings.Contains(f.Detail, "the server refused the credentials") {
				t.Errorf("detail %q does not say the credentials were refused", f.Detail)
			}
			for _, r := range rep.Checks {
				if strings.Contains(r.Detail, cfg.SecretAccessKey) {
					t.Errorf("%s shows the secret: %s", r.Check, r.Detail)
				}
			}
		})
	}
}

func TestMissingBucket(t *testing.T) {
	srv := sharedMinIO.Server(t)
	cfg := s3Config(srv)
	cfg.Bucket = "no-such-bucket-here"
	rep := Destination(t.Context(), Options{Store: openS3(t, cfg), Prefix: prefix, AgentID: "alice"})
	f := wantFailure(t, rep, CheckBucket, CauseNoBucket)
	if !strings.Contains(f.Detail, "no-such-bucket-here") {
		t.Errorf("detail %q does not name the bucket", f.Detail)
	}
	// The server answered, so its clock is known.
	if r := result(t, rep, CheckClock); r.Status != StatusOK {
		t.Errorf("clock: %s %s, want ok", r.Status, r.Detail)
	}
}

// TestNoWritePermission: an account that may list and read the bucket
// but not write to it.
func TestNoWritePermission(t *testing.T) {
	srv, user := testenv.VersityReadOnly(t)
	cfg := s3Config(srv)
	cfg.AccessKeyID, cfg.SecretAccessKey = user.AccessKey, user.SecretKey
	rep := Destination(t.Context(), Options{Store: openS3(t, cfg), Prefix: prefix, AgentID: "alice"})
	if r := result(t, rep, CheckBucket); r.Status != StatusOK {
		t.Fatalf("bucket: %s %s, want ok (the account may list)", r.Status, r.Detail)
	}
	f := wantFailure(t, rep, CheckWrite, CausePermission)
	if !strings.Contains(f.Detail, "no permission to write under the prefix") || !strings.Contains(f.Detail, prefix+"/check/") {
		t.Errorf("detail %q does not say that the prefix cannot be written", f.Detail)
	}
}

// TestLeasedPrefix: another agent's lease fails the check, unless the
// agent would take it over; the agent's own lease passes.
func TestLeasedPrefix(t *testing.T) {
	stores := map[string]func(t *testing.T) uploader.ObjectStore{
		"minio": func(t *testing.T) uploader.ObjectStore { return openS3(t, s3Config(sharedMinIO.Server(t))) },
		"dir": func(t *testing.T) uploader.ObjectStore {
			st, err := dirstore.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			other, err := uploader.New(st, uploader.Options{Prefix: prefix, AgentID: "bob", Host: "bobs-host"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := other.AcquireLease(t.Context()); err != nil {
				t.Fatal(err)
			}
			rep := Destination(t.Context(), Options{Store: st, Prefix: prefix, AgentID: "alice"})
			f := wantFailure(t, rep, CheckLease, CauseLeased)
			if !strings.Contains(f.Detail, `agent "bob" on host "bobs-host"`) || !strings.Contains(f.Detail, "--take-over") {
				t.Errorf("detail %q does not name the holder and the way out", f.Detail)
			}
			if rep.Lease == nil || rep.Lease.AgentID != "bob" {
				t.Errorf("report's lease %+v, want bob's", rep.Lease)
			}
			for _, tc := range []struct {
				name string
				opts Options
			}{
				{"own lease", Options{Store: st, Prefix: prefix, AgentID: "bob"}},
				{"take over", Options{Store: st, Prefix: prefix, AgentID: "alice", TakeOver: true}},
			} {
				if rep := Destination(t.Context(), tc.opts); !rep.OK {
					t.Errorf("%s: not OK: %+v", tc.name, rep.Checks)
				}
			}
		})
	}
}

func TestDirectory(t *testing.T) {
	root := t.TempDir()
	st, err := dirstore.New(root)
	if err != nil {
		t.Fatal(err)
	}
	rep := Destination(t.Context(), Options{Store: st, Prefix: prefix, AgentID: "alice"})
	if !rep.OK {
		t.Fatalf("not OK: %+v", rep.Checks)
	}
	for _, c := range []string{CheckCredentials, CheckClock} {
		if r := result(t, rep, c); r.Status != StatusNA {
			t.Errorf("%s: %s, want n/a", c, r.Status)
		}
	}
	objs, err := st.List(t.Context(), "")
	if err != nil || len(objs) != 0 {
		t.Errorf("the check left %+v (%v)", objs, err)
	}
}

func TestClockResult(t *testing.T) {
	for _, tc := range []struct {
		skew   time.Duration
		dated  bool
		status Status
		says   string
	}{
		{2 * time.Second, true, StatusOK, "2s ahead of"},
		{-3 * time.Minute, true, StatusOK, "3m0s behind"},
		{-6 * time.Minute, true, StatusFail, "6m0s behind"},
		{20 * time.Minute, true, StatusFail, "20m0s ahead of"},
		{0, false, StatusSkipped, "no Date header"},
	} {
		r := clockResult(tc.skew, tc.dated, DefaultMaxSkew)
		if r.Status != tc.status || !strings.Contains(r.Detail, tc.says) {
			t.Errorf("clockResult(%v, %v) = %s %q, want %s saying %q", tc.skew, tc.dated, r.Status, r.Detail, tc.status, tc.says)
		}
		if r.Failed() && r.Cause != CauseClockSkew {
			t.Errorf("clockResult(%v): cause %s", tc.skew, r.Cause)
		}
	}
}
