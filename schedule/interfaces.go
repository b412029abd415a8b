package schedule

import (
	"context"
	"strings"
	"time"
)

// Snapshotter takes one snapshot of a group and uploads it (export, encrypt,
// upload). It returns the epoch captured once the upload is complete and
// durable. It must be safe for concurrent use on different groups; the
// scheduler never runs two snapshots of the same group at once.
type Snapshotter interface {
	Snapshot(ctx context.Context, group []byte, reason Reason) (epoch uint64, err error)
}

// SnapshotterFunc adapts a function to a [Snapshotter].
type SnapshotterFunc func(ctx context.Context, group []byte, reason Reason) (uint64, error)

var _ Snapshotter = SnapshotterFunc(nil)

// Snapshot implements [Snapshotter] by calling f.
func (f SnapshotterFunc) Snapshot(ctx context.Context, group []byte, reason Reason) (uint64, error) {
	return f(ctx, group, reason)
}

// GroupStatus is what a [GroupLister] reports about one group.
type GroupStatus struct {
	// ID is the group id.
	ID []byte
	// Epoch is the group's current epoch.
	Epoch uint64
	// Uploaded is true if the group has a complete upload.
	Uploaded bool
	// UploadedEpoch is the epoch of the last complete upload (if Uploaded).
	UploadedEpoch uint64
}

// moved reports whether the group changed since its last complete upload.
func (g GroupStatus) moved() bool { return !g.Uploaded || g.Epoch != g.UploadedEpoch }

// GroupLister lists the groups the agent holds.
type GroupLister interface {
	Groups(ctx context.Context) ([]GroupStatus, error)
}

// Reconciler compares what is really at the destination with the groups.
type Reconciler interface {
	// Reconcile lists the destination, takes what it holds as the truth
	// for every later [GroupStatus], and returns the groups whose newest
	// snapshot is missing there. A listing that fails returns an error and
	// must leave what was known unchanged: a failure is not an empty
	// destination.
	Reconcile(ctx context.Context) (missing [][]byte, err error)
}

// Retainer applies the retention rules at the destination: it deletes the
// snapshots they no longer keep.
type Retainer interface {
	// Retain applies them to groups, the groups a pass snapshotted, or,
	// if groups is nil (after a reconciliation), to every group.
	Retain(ctx context.Context, groups [][]byte) error
}

// Reason says why a snapshot was taken. Triggers that were coalesced into
// one snapshot are or-ed together.
type Reason uint8

// Reasons.
const (
	ReasonEpoch        Reason = 1 << iota // the epoch reached a multiple of EveryEpochs
	ReasonCron                            // a cron pass found the epoch moved
	ReasonBeforeRemove                    // a member is about to be removed
	ReasonRequest                         // asked for by the application or operator
	ReasonRetry                           // a retry after a failure
	ReasonReconcile                       // the group's newest snapshot is missing at the destination
)

var reasonNames = [...]string{"epoch", "cron", "before-remove", "request", "retry", "reconcile"}

// String returns the reasons joined with "+", such as "epoch+cron".
func (r Reason) String() string {
	if r == 0 {
		return "none"
	}
	var parts []string
	for i, name := range reasonNames {
		if r&(1<<i) != 0 {
			parts = append(parts, name)
		}
	}
	return strings.Join(parts, "+")
}

// Has reports whether r includes every reason in o.
func (r Reason) Has(o Reason) bool { return r&o == o }

// SnapshotEvent describes one finished snapshot attempt.
type SnapshotEvent struct {
	Group    []byte
	Reason   Reason
	Attempt  int    // 1 for a first attempt, n for the (n-1)th retry
	Epoch    uint64 // the epoch uploaded, on success
	Err      error  // nil on success
	Start    time.Time
	Duration time.Duration
	RetryIn  time.Duration // > 0 if a retry was scheduled
}

// PassEvent describes one finished cron pass.
type PassEvent struct {
	Start     time.Time // when the pass started (after jitter)
	CatchUp   bool      // run at start-up for slots missed while down
	Groups    int       // groups listed
	Requested int       // groups whose epoch moved, so were snapshotted
	Failed    int       // snapshots that failed
	Duration  time.Duration
	Recorded  bool  // the pass was complete and its time persisted
	Err       error // listing or state-file error
	// RetainErr is the error of the retention that followed the pass.
	RetainErr error
}

// ReconcileEvent describes one finished reconciliation.
type ReconcileEvent struct {
	Start    time.Time
	Missing  int   // groups whose newest snapshot was missing, so were uploaded again
	Failed   int   // of those, snapshots that failed
	Err      error // the listing's error: nothing was learned or uploaded
	Duration time.Duration
	// RetainErr is the error of the retention that followed.
	RetainErr error
}

// Hooks are optional callbacks for metrics and logging. They are called
// from the scheduler's goroutines, concurrently; they must not block and
// must not call back into the scheduler. A nil field is skipped.
type Hooks struct {
	// SnapshotStarted is called when a snapshot attempt starts.
	SnapshotStarted func(group []byte, reason Reason)
	// SnapshotDone is called when a snapshot attempt ends, before any
	// synchronous caller waiting for it returns.
	SnapshotDone func(SnapshotEvent)
	// PassDone is called when a cron pass ends.
	PassDone func(PassEvent)
	// ReconcileDone is called when a reconciliation ends.
	ReconcileDone func(ReconcileEvent)
}
