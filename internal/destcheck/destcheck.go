// Package destcheck checks that a backup destination works as the agent
// needs it, one [Result] per check: the credentials resolve, the bucket
// (or directory) answers, the prefix can be written, read and deleted
// with conditional creates enforced (a probe object, see
// uploader.Backup.Probe), its lease is free or this agent's, and the
// server's clock agrees with this machine's. `mlsbackup check` runs it,
// adding the recipients and the signer it found, and the agent runs it
// at start (see internal/agent, "destination health").
//
// A failure names its [Cause] — unreachable endpoint, refused
// credentials, missing bucket, missing permission, a lease held by
// another agent, clock skew — so that the operator knows what to fix.
// Results never carry a secret: credentials are named by their source.
package destcheck

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/mlsbackup/mlsbackup/uploader"
)

// DefaultMaxSkew is the clock difference to the server beyond which the
// clock check fails. S3 refuses requests signed more than 15 minutes off;
// this leaves a margin, and keeps the times in snapshot keys, leases and
// heads close to the server's modification times that retention compares
// them with.
const DefaultMaxSkew = 5 * time.Minute

// Names of the checks, in the order they run.
const (
	CheckCredentials = "credentials"
	CheckBucket      = "bucket"
	CheckWrite       = "write"
	CheckLease       = "lease"
	CheckClock       = "clock"
	CheckRecipients  = "recipients"
	CheckSigner      = "signer"
)

// Status is the outcome of one check.
type Status string

// Statuses of a [Result].
const (
	StatusOK   Status = "ok"
	StatusFail Status = "fail"
	// StatusSkipped: not run because an earlier check failed.
	StatusSkipped Status = "skipped"
	// StatusNA: does not apply to this destination (a local directory
	// has no credentials and no server clock).
	StatusNA Status = "n/a"
)

// Cause classifies a failure.
type Cause string

// Causes of a failed [Result].
const (
	CauseUnreachable Cause = "unreachable"       // no answer from the endpoint
	CauseCredentials Cause = "credentials"       // credentials missing, unknown or wrong
	CauseNoBucket    Cause = "no_bucket"         // the bucket or directory does not exist
	CausePermission  Cause = "permission"        // valid credentials lacking a permission
	CauseLeased      Cause = "leased"            // the prefix is another agent's
	CauseClockSkew   Cause = "clock_skew"        // the clocks differ by more than the bound
	CauseConditional Cause = "conditional_write" // the store ignores If-None-Match
	CauseConfig      Cause = "config"            // the configuration lacks something
	CauseOther       Cause = "error"             // anything else; the detail says what
)

// Result is one check.
type Result struct {
	Check  string `json:"check"`
	Status Status `json:"status"`
	// Cause classifies a failure; empty otherwise.
	Cause Cause `json:"cause,omitempty"`
	// Detail says what was found, or why the check failed.
	Detail string `json:"detail"`
}

// Failed reports whether the check failed.
func (r Result) Failed() bool { return r.Status == StatusFail }

// Report is the outcome of every check.
type Report struct {
	// Destination names the store and prefix, without credentials.
	Destination string `json:"destination"`
	// OK is true when no check failed: a backup would work.
	OK     bool     `json:"ok"`
	Checks []Result `json:"checks"`
	// Lease is the prefix's lease, if there is a readable one.
	Lease *uploader.Lease `json:"lease,omitempty"`
	// ClockSkewSeconds is the server's clock minus this machine's, if
	// the server told its time.
	ClockSkewSeconds *float64 `json:"clock_skew_seconds,omitempty"`
	// Recipients and Signer are what the uploads would be encrypted to
	// and signed with, if [Report.AddKeys] was called.
	Recipients []string `json:"recipients,omitempty"`
	Signer     string   `json:"signer,omitempty"`
}

// add appends a result and keeps OK current.
func (r *Report) add(res Result) {
	r.Checks = append(r.Checks, res)
	r.OK = !slices.ContainsFunc(r.Checks, Result.Failed)
}

// Failure returns the first failed check.
func (r *Report) Failure() (Result, bool) {
	for _, c := range r.Checks {
		if c.Failed() {
			return c, true
		}
	}
	return Result{}, false
}

// Options say what to check.
type Options struct {
	// Store is the destination; an S3 store is asked for its credentials
	// and its bucket and clock, a local directory is looked at.
	Store uploader.ObjectStore
	// Prefix is destination.prefix.
	Prefix string
	// AgentID is the agent's identity, compared with the lease holder's.
	AgentID string
	// TakeOver: another agent's lease is no failure, since the agent
	// (run with --take-over) would replace it.
	TakeOver bool
	// MaxSkew bounds the clock difference; 0 means [DefaultMaxSkew].
	MaxSkew time.Duration
	// Logger receives what the probe could not clean up; nil discards.
	Logger *slog.Logger
}

// remote is a store behind a server (s3store.Store).
type remote interface {
	CredentialSource(ctx context.Context) (string, error)
	Ping(ctx context.Context, prefix string) (skew time.Duration, dated bool, err error)
}

// local is a store in a directory (dirstore.Store).
type local interface {
	Root() string
}

// Destination checks opts.Store under opts.Prefix: credentials, bucket,
// write, lease and clock, in that order. When the credentials or the
// bucket fail, the checks that need them are skipped.
func Destination(ctx context.Context, opts Options) Report {
	if opts.MaxSkew <= 0 {
		opts.MaxSkew = DefaultMaxSkew
	}
	var rep Report
	b, err := uploader.New(opts.Store, uploader.Options{Prefix: opts.Prefix, AgentID: opts.AgentID, Logger: opts.Logger})
	if err != nil {
		rep.add(fail(CheckBucket, err))
		return rep
	}
	rep.Destination = b.String()
	reached := false
	clock := Result{Check: CheckClock, Status: StatusNA, Detail: "a local directory has no server clock"}
	switch st := opts.Store.(type) {
	case remote:
		reached, clock = checkRemote(ctx, &rep, st, opts.Prefix, opts.MaxSkew)
	case local:
		rep.add(Result{Check: CheckCredentials, Status: StatusNA, Detail: "a local directory needs none"})
		reached = checkDir(&rep, st.Root())
	default:
		rep.add(Result{Check: CheckCredentials, Status: StatusNA, Detail: "not a server"})
		clock.Detail = "not a server"
		if _, err := opts.Store.List(ctx, "check/"); err != nil {
			rep.add(fail(CheckBucket, err))
		} else {
			rep.add(Result{Check: CheckBucket, Status: StatusOK, Detail: "the store answers"})
			reached = true
		}
	}
	if reached {
		rep.add(checkWrite(ctx, b))
		rep.add(checkLease(ctx, &rep, b, opts))
	} else {
		for _, c := range []string{CheckWrite, CheckLease} {
			rep.add(Result{Check: c, Status: StatusSkipped, Detail: "the destination cannot be reached"})
		}
	}
	rep.add(clock)
	return rep
}

// checkRemote adds the credentials and bucket checks of an S3 store and
// returns whether the bucket answered, and the clock's result.
func checkRemote(ctx context.Context, rep *Report, st remote, prefix string, maxSkew time.Duration) (bool, Result) {
	src, err := st.CredentialSource(ctx)
	if err != nil {
		rep.add(Result{Check: CheckCredentials, Status: StatusFail, Cause: CauseCredentials, Detail: err.Error()})
		rep.add(Result{Check: CheckBucket, Status: StatusSkipped, Detail: "no credentials"})
		return false, Result{Check: CheckClock, Status: StatusSkipped, Detail: "no credentials"}
	}
	rep.add(Result{Check: CheckCredentials, Status: StatusOK, Detail: credentialDetail(src)})
	skew, dated, err := st.Ping(ctx, prefix)
	if dated {
		s := skew.Seconds()
		rep.ClockSkewSeconds = &s
	}
	clock := clockResult(skew, dated, maxSkew)
	if err != nil {
		res := fail(CheckBucket, err)
		if res.Cause == CauseOther && clock.Failed() {
			res.Cause = CauseClockSkew
		}
		rep.add(res)
		return false, clock
	}
	rep.add(Result{Check: CheckBucket, Status: StatusOK, Detail: "the bucket exists and the credentials may list the prefix"})
	return true, clock
}

func credentialDetail(src string) string {
	if src == "static" {
		return "static, from destination.s3.access_key_id and secret_access_key"
	}
	return "from the AWS SDK chain (" + src + ")"
}

// clockResult judges the server's clock.
func clockResult(skew time.Duration, dated bool, maxSkew time.Duration) Result {
	if !dated {
		return Result{Check: CheckClock, Status: StatusSkipped, Detail: "the server told no time (no Date header)"}
	}
	ahead := "ahead of"
	if skew < 0 {
		ahead = "behind"
	}
	d := fmt.Sprintf("the server's clock is %s %s this machine's (bound %s)", abs(skew).Round(time.Second), ahead, maxSkew)
	if abs(skew) > maxSkew {
		return Result{Check: CheckClock, Status: StatusFail, Cause: CauseClockSkew, Detail: d + "; set this machine's clock (NTP)"}
	}
	return Result{Check: CheckClock, Status: StatusOK, Detail: d}
}

// checkDir checks a directory destination's root.
func checkDir(rep *Report, root string) bool {
	fi, err := os.Stat(root)
	switch {
	case err != nil:
		rep.add(fail(CheckBucket, fmt.Errorf("directory %s: %w", root, err)))
		return false
	case !fi.IsDir():
		rep.add(Result{Check: CheckBucket, Status: StatusFail, Cause: CauseNoBucket, Detail: root + " is not a directory"})
		return false
	}
	rep.add(Result{Check: CheckBucket, Status: StatusOK, Detail: "the directory " + root + " exists"})
	return true
}

// checkWrite writes, reads back and deletes a probe.
func checkWrite(ctx context.Context, b *uploader.Backup) Result {
	err := b.Probe(ctx)
	if err == nil {
		return Result{Check: CheckWrite, Status: StatusOK,
			Detail: "a probe object was written, refused a second conditional create, read back and deleted"}
	}
	res := fail(CheckWrite, err)
	var pe *uploader.ProbeError
	if res.Cause == CausePermission && errors.As(err, &pe) {
		switch pe.Step {
		case "read":
			res.Detail = "no permission to read under the prefix: " + res.Detail
		case "delete":
			res.Detail = "no permission to delete under the prefix (retention, lease takeover and old heads need it): " + res.Detail
		default:
			res.Detail = "no permission to write under the prefix: " + res.Detail
		}
	}
	return res
}

// checkLease reads the prefix's lease and judges it against this agent.
func checkLease(ctx context.Context, rep *Report, b *uploader.Backup, opts Options) Result {
	l, err := b.ReadLease(ctx)
	switch {
	case errors.Is(err, uploader.ErrNotFound):
		return Result{Check: CheckLease, Status: StatusOK, Detail: "no lease yet; the agent takes it with its first write"}
	case errors.Is(err, uploader.ErrCorrupt) && opts.TakeOver:
		return Result{Check: CheckLease, Status: StatusOK, Detail: "the lease is unreadable; --take-over replaces it"}
	case errors.Is(err, uploader.ErrCorrupt):
		return Result{Check: CheckLease, Status: StatusFail, Cause: CauseLeased,
			Detail: err.Error() + "; only a takeover (agent --take-over) replaces it"}
	case err != nil:
		return fail(CheckLease, err)
	}
	rep.Lease = &l
	holder := fmt.Sprintf("agent %q on host %q since %s", l.AgentID, l.Host, l.Acquired.UTC().Format(time.RFC3339))
	switch {
	case opts.AgentID == "":
		return Result{Check: CheckLease, Status: StatusFail, Cause: CauseConfig,
			Detail: "held by " + holder + ", and no identity is configured to compare it with (set identity: or pass --identity)"}
	case l.AgentID == opts.AgentID:
		return Result{Check: CheckLease, Status: StatusOK, Detail: "held by this agent: " + holder}
	case opts.TakeOver:
		return Result{Check: CheckLease, Status: StatusOK, Detail: "held by " + holder + "; --take-over replaces it"}
	}
	return Result{Check: CheckLease, Status: StatusFail, Cause: CauseLeased,
		Detail: (&uploader.LeaseError{Key: b.LeaseKey(), Holder: l}).Error()}
}

// fail turns err into a failed result with its cause.
func fail(check string, err error) Result {
	c, why := classify(err)
	d := err.Error()
	if why != "" {
		d = why + ": " + d
	}
	return Result{Check: check, Status: StatusFail, Cause: c, Detail: d}
}

// classify names the cause of a store error and a short explanation.
func classify(err error) (Cause, string) {
	var netErr *net.OpError
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, uploader.ErrNoBucket):
		return CauseNoBucket, "the bucket does not exist"
	case errors.Is(err, uploader.ErrBadCredentials):
		return CauseCredentials, "the server refused the credentials"
	case errors.Is(err, uploader.ErrAccessDenied):
		return CausePermission, "access denied"
	case errors.Is(err, uploader.ErrNoConditionalWrite):
		return CauseConditional, ""
	case errors.Is(err, uploader.ErrLeaseHeld):
		return CauseLeased, ""
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
		return CausePermission, "no permission"
	case errors.Is(err, fs.ErrNotExist):
		return CauseNoBucket, "does not exist"
	case errors.As(err, &dnsErr), errors.As(err, &netErr), errors.Is(err, context.DeadlineExceeded):
		return CauseUnreachable, "the endpoint cannot be reached"
	}
	return CauseOther, ""
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
