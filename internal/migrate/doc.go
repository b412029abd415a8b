// Package migrate moves existing backups: [Copy] copies the complete
// snapshots of one backup set to another (a directory to S3, a bucket to
// another bucket or prefix), and [Rekey] re-encrypts the snapshots of a
// backup set to new recipients. Both are the logic behind `mlsbackup
// copy` and `mlsbackup rekey`; docs/rotation.md is the operator's side.
//
// # Signatures, chain and head
//
// A signed manifest names its own prefix and key and its place in the
// prefix's chain (uploader/doc.go, "Chain and head"), so neither command
// can move a manifest as it is. Both write new manifests through the
// uploader's own chain code, signed by the writer's key: the target's
// signing key for Copy, the configured one for Rekey. Each continues the
// target prefix's sequence and each group's chain, and a signed head is
// written at the end, as the agent does. Neither copies or re-signs an
// unsigned manifest: that would vouch for what nobody signed.
//
// # Copy
//
// Copy first checks the source as verify does, without decrypting: the
// newest head, every manifest's signature and location, and each group's
// chain and what the head says of it. A group that fails is not copied
// (a copy would hide the gap under a clean new chain); the report names
// it. Then, group by group and oldest first (the chain's order), each
// snapshot the target lacks is copied ([uploader.Backup.CopyFrom]: data,
// then manifest) and checked at the target: its manifest read back and
// its signature verified, its age file's size and SHA-256 against the
// source's, and with an identity, decrypted. A snapshot the target
// already holds under the same key is checked the same way and skipped:
// a rerun copies only what is missing. A snapshot older than the newest
// one the target holds of its group is not copied behind it (the head
// names each group's newest manifest; a manifest written after it but
// older would contradict it); the report names it. Copy never writes to
// the source.
//
// # Rekey
//
// A manifest binds its age file's SHA-256, so a re-encrypted snapshot is
// a new snapshot: Rekey decrypts each snapshot with the old identity and
// uploads it encrypted to the new recipients as a new snapshot of the
// same group and epoch, created one nanosecond after the original (so it
// sorts right after it, and restore --before still selects it for the
// same instants). Each group is rekeyed oldest first, so that the new
// manifests continue the group's chain in order. The replacement is
// checked (its signed manifest read back, its plaintext digest and size
// equal to the original's, its age file's digest), a head is written that
// names every group's newest manifest — the replacements — and only then
// are the originals retired, oldest first, so that the chain of what is
// left has no gap. A snapshot the old identity cannot decrypt is left
// alone (it is already encrypted to someone else, e.g. a replacement).
//
// # Crashes and reruns
//
// Every object is written with a conditional create and a snapshot is
// visible only once its manifest is written, so a crash leaves at most
// orphan data objects (removed by prune) and complete snapshots. A rerun
// converges: Copy skips what the target holds and verifies; Rekey finds
// each original's replacement (same group, epoch and plaintext digest,
// created one nanosecond later), checks it, writes a head and retires
// the original. An original is deleted only after its replacement
// verified and a head written by this run names the group's newest
// replacement.
//
// TestCopyCrashAtEveryWrite and TestRekeyCrashAtEveryWrite stop a run at
// each of its writes, in process; cmd/mlsbackup's TestCopyKilledAndRerun
// and TestRekeyKilledAndRerun kill the real commands with SIGKILL at
// every step and rerun them (docs/testing.md).
//
// # Lease
//
// Both write under the target prefix's lease, as "<agent id>+copy" or
// "<agent id>+rekey": an agent that holds the prefix (even one of the
// same id: a running agent and a rekey must not extend one chain at
// once) makes them fail with an [*uploader.LeaseError] unless the caller
// takes the lease over. The lease is released when they finish, so that
// the agent, restarted, takes the prefix again.
package migrate
