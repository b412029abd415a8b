// Package agent is mlsbackup's background agent: it owns a data directory
// (package localstore: lock, write-ahead log, recovery), runs the MLS groups
// in it (package engine), snapshots them when package schedule says so,
// uploads the snapshots age-encrypted (package uploader), and serves a local
// HTTP/JSON API through which an application drives its groups.
//
// # Lifecycle
//
// [Open] takes the data directory's lock, recovers the write-ahead log (and
// logs what recovery did), builds the engine client from the configured
// identity, the backup set from the configured destination and recipients,
// and the scheduler. [Agent.Run] serves the API on the unix socket
// <data-dir>/agent.sock or agent.socket (mode 0600 from the instant it
// appears: it is bound in a private directory and linked into place) and,
// if configured, on a TCP listener
// that requires a bearer token, until its context ends. Then it stops taking
// requests, lets the requests and snapshots in flight finish for up to
// [Options.DrainTimeout], cancels what is left (an interrupted upload leaves
// nothing visible: the manifest is written last), closes the store and
// returns nil — also when the store's final checkpoint fails for lack of
// space (logged as a warning: every acknowledged transition is in the
// write-ahead log, which the next start replays). [Agent.Reload] applies a
// changed configuration's snapshot schedule and log level (SIGHUP).
//
// # Full disk
//
// While the data directory cannot be written, the agent keeps running and
// recovers by itself (see package localstore): a transition that cannot be
// logged fails with 503 store_unavailable and leaves nothing stored, GET
// /healthz answers 503 with the reason, and the metrics
// mlsbackup_store_healthy and mlsbackup_store_write_failures_total show it;
// once writes succeed again, /healthz is ok again without a restart.
//
// # Destination health
//
// At start [Agent.Run] checks the destination with package destcheck (the
// checks of `mlsbackup check`). While they fail the agent keeps serving MLS
// — a backup outage must not stop messaging — and GET /healthz answers 200
// "degraded" naming the failed check and its cause, mlsbackup_destination_ok
// is 0, and it checks again after 5 s, doubling up to every 5 minutes,
// until a check passes or an upload completes (desthealth.go).
//
// # Groups and snapshots
//
// Groups are loaded lazily, one mutex per group: operations on one group are
// serialized, operations on different groups run in parallel. A snapshot is
// exported with the group's mutex held, so it is a consistent view between
// two transitions; it is stored as the group's local snapshot file (kept
// only while its epoch is the group's current one, see package localstore)
// and then uploaded with the epoch authenticator recorded in the manifest.
// After every
// merged or processed commit the scheduler hears of the new epoch; before a
// removal commit is created the scheduler snapshots the group first (when
// snapshot.before_remove is on) and the removal is refused if that fails.
//
// What the agent knows of its destination (remote.go) is the last listing
// plus its own uploads since, never an upload it once made: at start and
// every snapshot.reconcile_interval it lists the destination and uploads
// again the groups whose newest snapshot is missing (reconcile.go); a
// failed listing changes nothing. An epoch already there is not uploaded
// again. Retention is applied after every pass and reconciliation.
// Background snapshots yield to the API while it serves requests
// (throttle.go).
//
// # Answers after a crash: the outbox
//
// Every call that changes state stores its answer in the same durable
// batch as the change (engine.Attach): the outgoing messages of a send or
// commit, the plaintext of a received message, the joined group. A
// process killed at any instant leaves the group exactly before the call
// (nothing stored; the application, which got no answer, calls again) or
// after it with its answer stored, which a retry with the same idempotency
// key (for a received message: the message itself) returns again, and GET
// /v1/outbox lists until the application acknowledges it (outbox.go). A
// commit created and merged in one request is one batch too
// (engine.CommitOptions.Merge), so recovery never has a half-done commit
// to clean up; a commit made with no_merge stays pending across restarts
// until the application merges or clears it. Inputs that other tools left
// pending in the log are reported at start and dropped.
//
// The API is documented in docs/api.md; [Dial] returns its Go client.
package agent
