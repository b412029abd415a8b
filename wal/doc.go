// Package wal is a generic write-ahead log: operations are begun, committed
// with an opaque payload, aborted and marked applied, and every record is
// framed, checksummed and fsynced in groups. It knows nothing of MLS.
//
// # Operations
//
// An operation has a kind (a short name such as "ProcessCommit") and an
// optional input (for example an incoming message, so that it can be
// processed again after a crash). [Log.Begin] logs the start, [Log.Commit]
// logs the payload (typically the batch of state changes) and returns only
// once it is on stable storage, [Log.Abort] abandons an operation and
// [Log.MarkApplied] records that a committed payload has reached its final
// place. Concurrent committers share one fsync (group commit). The log must
// never be given application plaintext: it is kept on disk until its
// operations are applied.
//
// On [Open] the log is scanned (and the active segment fsynced, so that
// records a killed process wrote but never fsynced cannot be lost after the
// caller has acted on them) and a [Recovery] tells the caller which
// committed payloads to replay (in commit order, from the first one not
// known to be applied; replay must be idempotent) and which operations were
// begun but neither committed nor aborted (with their input). [Read] finds
// the same without changing anything (no repair, no fsync, no new segment),
// for a reader that may not write.
//
// [Log.Checkpoint] closes the active segment and deletes every older
// segment whose operations are all finished, so that the bytes of applied
// payloads (secrets included) leave the disk.
//
// # Failed writes
//
// A write or fsync of the active segment can fail (a full disk, an I/O
// error). Every record not durable at that instant is then lost: those of
// the failed write and those appended while it ran. Their waiters get an
// error wrapping [ErrWriteFailed]; a lost Commit leaves its operation
// uncommitted (the caller aborts it), and an operation whose Begin was lost
// ends at its next Commit (which fails) or Abort. Abort and Applied records
// are not fsynced by themselves anyway: losing one only makes recovery
// report or replay the operation again. The segment is then truncated to
// the end of its last durable record and fsynced, so that no later record
// can follow the bytes of a lost one (they would read as corruption in the
// middle of the file, or as valid records of an operation its caller was
// told had failed). After a failed fsync the page cache of the segment can
// no longer be trusted to match the disk (Linux marks pages whose
// write-back failed as clean), so the log does not write to that segment
// again: once it is truncated and fsynced, a new segment becomes active.
// Until this cleanup succeeds, appends are refused with [ErrWriteFailed];
// the next append, [Log.Sync], [Log.Checkpoint] or [Log.Repair] retries it
// (truncating frees space; a new segment needs a little). Only if the
// process dies before a cleanup that kept failing can a lost record come
// back at the next Open, as the record of an operation interrupted by a
// crash may. A checkpoint that cannot create its next segment fails and
// leaves the active segment in use. The log thus survives a full disk:
// once space returns, appends succeed again without a restart.
// [Log.Failures], [Log.Durable] and [Log.Lost] let the caller undo what it
// built on lost records.
//
// # On-disk format
//
// The log is a directory of segment files named by a 16-digit lower-case
// hexadecimal sequence number and the suffix ".wal", e.g.
// "000000000000002a.wal". Sequence numbers grow by one per segment; the
// live segments always form a contiguous range and the highest one is the
// active segment that receives new records. A gap is reported as
// corruption. Files whose names start with ".tmp-" are leftovers of an
// interrupted segment creation and are removed on open.
//
// All integers are little-endian. CRC32C is CRC-32 with the Castagnoli
// polynomial (hash/crc32.Castagnoli).
//
// A segment starts with a 32-byte header, written atomically (temporary
// file, fsync, rename, directory fsync) before any record is appended:
//
//	offset  size  field
//	0       8     magic "MLSBWAL\x00"
//	8       4     format version, 1
//	12      4     CRC32C of bytes 0..12 and 16..32
//	16      8     segment sequence number (equals the file name)
//	24      8     first operation id this segment may use
//
// Records follow, each starting at an offset that is a multiple of 8:
//
//	offset  size  field
//	0       4     chained CRC32C (see below)
//	4       4     payload length n (at most 1 GiB)
//	8       1     record type (1..4)
//	9       3     zero
//	12      4     CRC32C of bytes 4..12 of this record header
//	16      n     payload
//	16+n    p     zero padding, p = (8 - n mod 8) mod 8
//
// The chained CRC of a record is CRC32C over bytes 4..16 of its header
// followed by its payload, started from the chained CRC of the previous
// record of the segment; the first record starts from bytes 12..16 of the
// segment header. Reordered, dropped or spliced records therefore fail the
// check.
//
// Record types and payloads (ids are operation ids, unique for the life of
// the log and increasing in Begin order):
//
//	1 Begin    id u64, kind length u16, kind bytes, input (the rest)
//	2 Commit   id u64, payload (the rest)
//	3 Abort    id u64
//	4 Applied  count u32, count × id u64
//
// # Reading
//
// The decoder tells three endings apart:
//
//   - clean end: the last record ends exactly at the end of the file;
//   - torn tail (only in the active segment, or in a segment followed only
//     by segments without records: a checkpoint creates the next segment
//     before the last write to the current one, and such empty segments
//     are deleted): the file ends inside a record
//     header or payload, or the last record fails its checks and nothing
//     but zero bytes follows it, or a record header fails its check and
//     only zero bytes follow the header. The segment is truncated to the end of the last
//     good record, fsynced, and the repair is logged; an un-acknowledged
//     write was interrupted;
//   - corruption: any other failing header, checksum, padding or payload
//     encoding, a bad segment header, a torn tail in a segment that is not
//     the last, or a missing segment. Open fails with a [*CorruptError]
//     naming the file and offset; nothing is changed on disk.
//
// A bit flip inside the very last record of the active segment cannot be
// told apart from a torn write and is repaired like one; every earlier
// record is protected.
package wal
