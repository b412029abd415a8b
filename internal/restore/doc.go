// Package restore brings MLS groups back from mlsbackup's encrypted remote
// snapshots into a data directory: the logic behind `mlsbackup restore`.
//
// A restore of one group goes through these steps, each reported in a
// [Result]:
//
//  1. Select: the newest complete snapshot of the group ([Selector] zero
//     value), the one of an exact epoch, or the newest taken at or before a
//     time. For every group at once ([Request].All) each group's snapshot is
//     selected the same way from one listing.
//  2. Download and decrypt ([Source.Fetch]): the uploader checks the
//     ciphertext's and the plaintext's size and SHA-256 against the manifest.
//  3. Verify the snapshot itself: it must parse as an engine GroupSnapshot
//     whose own checksum holds and whose group id, epoch and epoch
//     authenticator equal what the signed manifest recorded (the uploader
//     has checked the manifest's signature when it read it).
//  4. Compare with the local group ([Target.LocalEpoch]): a restore that
//     would roll the group back to an older epoch is refused with
//     [ErrRollback] unless [Options.Force]; a local group already at the
//     snapshot's epoch is left alone ([StatusUpToDate]) unless forced; local
//     state that cannot be read is replaced only when forced.
//  5. Import ([Target.Import]) as one atomic step: the data directory holds
//     the group exactly as before or exactly as in the snapshot.
//
// Into a [StoreTarget], steps 3 and 5 are one pass over the snapshot: the
// engine parses and checks it once, the comparison with the manifest runs
// before the import's batch is stored, and a mismatch stores nothing.
//
// With [Options.DryRun] steps 1–4 run (so a dry run also proves the snapshot
// downloads, decrypts and verifies) and nothing is imported.
//
// The restored group is marked restored: it cannot encrypt until it has
// merged a commit of its own made after the restore (a self-update, after
// processing the commits it missed), or re-joined through an external
// commit; processing other members' commits is not enough (see package
// engine and the restore runbook, docs/runbook.md).
//
// A [Target] is either the data directory opened directly ([StoreTarget], when
// no agent holds its lock) or a running agent reached through its API; the
// caller decides which. For a data directory that holds no data yet,
// [OpenOnImport] defers that choice to the first import, so that a restore
// that imports nothing leaves the directory as it was.
package restore
