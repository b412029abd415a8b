// Package schedule decides WHEN a group is snapshotted. It knows nothing of
// MLS, age or S3: taking and uploading one snapshot is the job of a
// [Snapshotter], and the list of groups with their current epoch and the
// epoch of their last complete upload comes from a [GroupLister]. The agent
// implements both.
//
// # Triggers
//
//   - Every N epochs ([Config].EveryEpochs): [Scheduler.EpochChanged] asks
//     for a snapshot when a group's epoch reaches a multiple of N (N, 2N, ...).
//     An epoch that jumps past one or more multiples asks once.
//   - Cron ([Config].Cron, parsed by github.com/robfig/cron/v3: five fields or
//     descriptors such as @hourly and @every 1h, evaluated in
//     [Config].TimeZone). A cron pass lists the groups and snapshots only
//     those whose epoch moved since their last complete upload. Passes start
//     after a random delay of up to [Config].Jitter. [Scheduler.PassNow]
//     runs the same pass at once (a pass on request, and the scale
//     benchmark's measured step).
//   - Before a member removal: [Scheduler.BeforeRemove] returns only once a
//     snapshot of the group is uploaded, or with the error that prevented it,
//     so the caller can decide not to remove.
//   - On request: [Scheduler.Request] (asynchronous) and
//     [Scheduler.RequestSync].
//
// # Reconciliation and retention
//
// What the destination holds is not taken on trust: with a [Reconciler]
// the scheduler has it list the destination at start (before the start-up
// check below, which then sees what is really there) and every
// [Config].ReconcileInterval, and snapshots every group it reports
// missing (reason [ReasonReconcile]; e.g. the bucket was deleted and
// recreated). A listing that fails uploads nothing. [Scheduler.ReconcileNow]
// runs the same at once. With a [Retainer], retention is applied after
// every pass and every reconciliation, once their snapshots are done.
//
// # Coalescing, priority, backoff, concurrency
//
// A group has at most one snapshot queued and at most one running. A trigger
// that arrives while one is queued merges into it (their [Reason]s are
// or-ed); a trigger that arrives while one is running queues at most one
// follow-up, which starts after the running one ends. A synchronous caller
// always waits for a snapshot that starts after its call, never for one
// already running, so what it waits for includes the state at its call.
// Synchronous requests (BeforeRemove, RequestSync) go ahead of queued
// asynchronous work and skip a pending backoff.
//
// A failed snapshot is retried after an exponential backoff per group,
// starting at [Config].BackoffMin and doubling up to [Config].BackoffMax;
// a success resets it. Errors wrapped with [Permanent] are not retried.
// At most [Config].MaxConcurrent snapshots run at once.
//
// # Catch-up after downtime
//
// The start time of the last complete cron pass (one in which every
// requested snapshot succeeded) is kept in [Config].StateFile, written
// atomically with internal/atomicfile. On start, if one or more cron slots
// were missed since then, exactly one pass runs at once (after jitter), not
// one per missed slot. Likewise slots missed while running (a suspended
// machine, a clock jump) give one pass, and a slot that comes while the
// previous pass still runs is skipped: the next slot picks up what moved
// meanwhile. On start the
// scheduler also lists the groups once and snapshots any group whose last
// multiple of N was never uploaded (a crash between an epoch change and its
// upload).
//
// The state file is JSON: {"version":1,"last_pass":"<RFC 3339 time>"}.
//
// # Lifecycle
//
// [New] validates the [Config]; [Scheduler.Run] runs until its context ends,
// then stops taking work, fails queued synchronous requests with
// [ErrStopped] and waits for the snapshots in flight (graceful drain): their
// context is not cancelled by the end of Run's context. [Scheduler.Cancel]
// is the hard stop: it cancels the context of the snapshots in flight and
// makes Run return as soon as they have returned.
//
// [Scheduler.WaitIdle] waits until nothing is queued, backing off or
// running (tests, and a demo that must not wipe a disk before its uploads
// end). [Scheduler.Forget] drops a deleted group.
//
// A wiring sketch for the agent (drainTimeout is the agent's choice):
//
//	s, err := schedule.New(cfg, schedule.Deps{Snapshotter: snap, Lister: lister, Hooks: hooks, Logger: log})
//	go func() { done <- s.Run(ctx) }()            // ctx ends on SIGTERM
//	...
//	s.EpochChanged(groupID, epoch)                 // after each durable epoch change
//	if err := s.BeforeRemove(ctx, groupID); err != nil { /* refuse the removal */ }
//	...
//	select {                                        // on SIGTERM
//	case <-done:
//	case <-time.After(drainTimeout):
//		s.Cancel() // abandon the in-flight uploads; nothing partial is visible
//		<-done
//	}
//
// Time comes from a [Clock]: [RealClock] in production, [FakeClock] in
// tests, which only moves when told to. Observability is through [Hooks]
// (callbacks), so the package imports no metrics library and has no globals.
package schedule
