// Package localstore keeps the engine's state in local files, crash-atomically:
// it implements [engine.Storage] on top of the write-ahead log of package wal.
//
// # One transition
//
// [Store.Apply] validates the batch, adds the deletion of epoch secrets that
// fall out of the retention, encodes it and appends it to the log; the call
// returns once the log record is fsynced (concurrent batches share the
// fsync). From then on the batch survives any crash: the log is the
// durability point. The newest value of each changed component is kept in
// memory (the overlay) until an applier round writes it to its file — only
// the components that changed, each once per round however often it
// changed. Rounds run Options.ApplyDelay after a commit, so that batches
// gather (an epoch secret added and deleted within a round is never
// written); Apply waits only when more than Options.MaxPending components
// are pending. A round overwrites each file in place WITHOUT fsync (a
// file the round deletes is renamed to a name it creates in the same
// directory and overwritten, as creating a file costs far more); the
// log keeps the batches it carries until a checkpoint, which first makes
// every file written since the previous checkpoint durable (each file
// fsynced once, then each directory touched), then marks the batches
// applied and checkpoints the log, deleting the segments whose operations
// are all applied. A checkpoint runs once Options.CheckpointInterval has
// passed since the oldest write not yet durable, once the batches logged
// since the last one reach Options.CheckpointBytes, on [Store.Flush] and on
// [Store.Close]. With Options.SyncApply every Apply runs a round and a
// checkpoint before returning. Readers see the overlay, so reads always
// reflect every durable batch; a read that would return a value whose log
// fsync is still in flight waits for it.
//
// After a crash, a component file written since the last checkpoint may
// hold the old value, the new one, a mix, or nothing; recovery never reads
// such a file: it is covered by a batch still in the log, and replay
// overwrites it (or removes it) before the store opens.
//
// Forward secrecy: the secrets of an epoch deleted by the retention leave
// the component files when the round that deletes them runs, and leave the
// log (which holds the batch that added them) at the first checkpoint after
// that, so at most Options.CheckpointInterval (plus one round) after the
// deleting batch was committed; [Store.Flush] removes them at once. A local
// snapshot file lives only while its epoch is its group's current one: the
// round that applies a batch moving the group to another epoch, or
// deleting it, deletes the group's other snapshot files, and [Open]
// deletes any a crash left behind.
//
// # Full disk and other write failures
//
// The store recovers by itself; it never needs a restart after a failed
// write. If the log write of a batch fails (ENOSPC, EIO), [Store.Apply]
// returns an error wrapping [ErrWriteFailed] and nothing of the batch is
// durable or visible: the log drops the record and truncates its segment
// back to the last durable record (after a failed fsync it also moves on
// to a new segment, see package wal), and the batch is taken out of the
// overlay, where the values it replaced are kept until it is durable, so
// that readers and later batches see them again. If the background
// applier cannot write the component files or checkpoint, nothing is
// lost either: the log still holds every durable batch and readers see
// them through the overlay. Apply keeps working while the log can be
// appended (until Options.MaxPending components wait for their files,
// when it fails with [ErrWriteFailed] instead of waiting). Failed writes
// are retried in the background with a backoff bounded by
// Options.RetryMax, and on every Apply; for the log, a retry writes and
// fsyncs a probe file of the failed record's size in wal/ (a leftover
// ".tmp-probe" is removed on open). [Store.Health] reports the failing
// stage, the error, since when, and a count of failed writes, and turns
// healthy again once a retry or a new write succeeds. [Store.Close] on a
// full disk returns an error wrapping [ErrNotCheckpointed]: every
// acknowledged batch is in the log, and the next Open replays it. With
// Options.SyncApply, an Apply whose batch is durable returns nil even if
// writing the files then fails; that failure shows in the health and is
// retried like the applier's.
//
// On [Open], every committed batch not known to be applied is replayed
// (replay is idempotent: each component is set to its final value), begun
// operations without input are dropped and begun operations with input (an
// incoming message) are reported in [RecoveryReport.PendingInputs] so that
// the caller can process the input again. A group is therefore always
// exactly before or after each operation.
//
// [OpenReadOnly] gives the same view without writing anything (for a dry
// run on a data directory this process may not write): it takes a shared
// lock on LOCK, reads the log without repairing it and lays the batches
// that Open would replay over the files in memory.
//
// # Layout
//
//	<data-dir>/
//	  LOCK                                   flock(2)-ed while a Store is open (shared by OpenReadOnly)
//	  FORMAT                                 "mlsbackup-localstore 1\n"
//	  wal/<16 hex digits>.wal                log segments (see package wal)
//	  mls/client/<kind>/<name>               client-level components (empty group)
//	  mls/groups/<group-hex>/<kind>/<name>   group components
//	  mls/groups/<group-hex>/snapshots/latest.snapshot
//	  mls/groups/<group-hex>/snapshots/epoch_<N>.snapshot
//
// <group-hex> is the lower-case hexadecimal group id (at most 120 bytes).
// Kinds are those of package engine ("state", "epoch_secrets", "keys"; any
// other name made of [A-Za-z0-9._-] not starting with "." works, except
// "snapshots"); component names follow the same rule, at most 200 bytes.
// Epoch secrets are named epoch_<N>.bin (decimal N, leading zeros allowed);
// when a batch adds one, every epoch_<M>.bin with M <= N - EpochRetention
// is deleted in the same batch. A group's current epoch is its highest N;
// a group without an epoch_<N>.bin is not stored.
// The engine applies its own retention (engine.Options.RetainEpochs); this
// one is the backstop and must not be smaller than the engine's, or the
// engine would miss epoch records it expects.
// Files ".tmp-*" are leftovers of interrupted atomic writes and are removed
// on [Open]. Files are created 0600 and directories 0700; every new
// directory's parent is fsynced.
//
// A FORMAT file with any other content, or a data directory that has mls/
// or wal/ but no FORMAT, is refused with [ErrUnsupportedFormat].
//
// # Component file
//
// All integers little-endian; CRC32C is the Castagnoli CRC-32.
//
//	offset  size  field
//	0       8     magic "MLSBCMP\x00"
//	8       4     version, 1
//	12      4     CRC32C of bytes 0..12, 16..24 and the value
//	16      8     value length n
//	24      n     value (the bytes the engine stored)
//
// A mismatch gives a [*CorruptFileError] naming the file; nothing is rewritten.
//
// # Snapshot file
//
//	offset  size  field
//	0       8     magic "MLSBSNP\x00"
//	8       4     version, 1
//	12      4     zero
//	16      8     epoch
//	24      8     data length n
//	32      32    SHA-256 of bytes 0..32 followed by the data
//	64      n     data (opaque snapshot bytes produced by the engine)
//
// epoch_<N>.snapshot is written first, then latest.snapshot (same bytes),
// each atomically, and only for the group's current epoch N; they are
// deleted once the group leaves epoch N or is deleted (see Forward secrecy
// above), so at most one epoch file is kept in practice (and never more
// than SnapshotsKept).
//
// # Log payload (one batch)
//
//	u8      version, 1
//	u16 len + bytes   operation name
//	u16 len + bytes   group id
//	u32     number of puts, then per put:
//	        key, u32 value length, value
//	u32     number of deletes, then per delete: key
//	key =   u16 len + group id, u16 len + kind, u16 len + name
//
// Deletes are applied before puts.
package localstore
