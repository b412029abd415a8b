// Package uploader is mlsbackup's backup pipeline: it encrypts group
// snapshots with age, stores them in an [ObjectStore] (S3-compatible
// buckets through uploader/s3store, a local directory through
// uploader/dirstore) under a documented remote layout, and lists,
// verifies, prunes and fetches them back. A snapshot is opaque bytes plus
// metadata ([SnapshotMeta]); the package knows nothing of MLS.
//
// # Encryption
//
// Every snapshot is encrypted with age (age-encryption.org/v1) to one or
// more recipients: age X25519 ("age1…"), age post-quantum hybrid
// ("age1pq1…", not mixable with the others), or SSH public keys
// ("ssh-ed25519 …", "ssh-rsa …"). The agent needs only recipients to back
// up; the identity (secret key) is needed only to verify or restore, so
// neither a stolen agent configuration nor the bucket can read backups.
// The encrypted object is a plain age file: `age -d -i identity.txt
// snapshot.age` yields the snapshot bytes exactly. Encryption and
// decryption stream in 64 KiB chunks; a snapshot is never held in memory.
// [GenerateIdentity] writes an identity file in age-keygen's format.
//
// # Remote layout
//
// All keys of a backup set live under its prefix P (Options.Prefix; empty
// means the bucket root, and then "P/" below is empty too):
//
//	P/agent-lease.json                       the lease: which agent writes here
//	P/groups/<G>/<E>/<T>-<R>/snapshot.age    the age-encrypted snapshot
//	P/groups/<G>/<E>/<T>-<R>/manifest.json   its manifest, written last
//	P/groups/<G>/<E>/<T>-<R>/snapshot.json   or: an inline snapshot, the
//	                                         manifest with the age file inside
//
// where
//
//   - <G> is the MLS group id in lower-case hex (1 to 256 bytes of id);
//   - <E> is the epoch in decimal, zero-padded to 20 digits, so that keys
//     sort by epoch;
//   - <T> is the creation time in UTC, "YYYYMMDDTHHMMSS.nnnnnnnnnZ"
//     (fixed width, nanoseconds), so that keys sort by time within an epoch;
//   - <R> is 16 random lower-case hex digits, so that two snapshots of the
//     same group, epoch and instant never share a key.
//
// Keys therefore sort by group, epoch and time, and a listing alone tells
// which snapshots exist ([Backup.ListRefs]). Objects are immutable: every
// object is created with a conditional write (If-None-Match: *) and never
// overwritten; only Prune deletes, and only whole snapshots or orphans.
//
// # Completeness
//
// Upload writes snapshot.age first and manifest.json last. A snapshot is
// complete — visible to List, Verify, restore and retention — exactly when
// its manifest exists. An inline snapshot is the single object
// snapshot.json, complete once written. An upload that dies (crash, kill, network loss)
// before its manifest leaves at most an orphan snapshot.age, which List
// ignores and [Backup.Prune] deletes once it is older than
// [Retention.OrphanAge] (default 24 h, so an upload in progress is never
// mistaken for one). Prune deletes the manifest first, then the data, so a
// snapshot leaves List before its data goes.
//
// # Manifest
//
// manifest.json is a JSON object (version 1):
//
//	{
//	  "format": "mlsbackup-snapshot-manifest",
//	  "version": 1,
//	  "group_id": "<hex>",             // equals <G>
//	  "epoch": 42,                     // equals <E>
//	  "created": "2026-11-25T17:04:23.123456789Z", // equals <T>
//	  "id": "<T>-<R>",
//	  "agent_id": "alice-laptop",      // the uploading agent
//	  "snapshot_format": "<name>",     // the plaintext's format, from the caller
//	  "epoch_authenticator": "<hex>",  // optional, omitted if unknown
//	  "encryption": "age-v1",
//	  "object": "snapshot.age",
//	  "plaintext":  {"size": 1234, "sha256": "<hex>"},
//	  "ciphertext": {"size": 1456, "sha256": "<hex>"}
//	}
//
// # Inline snapshots
//
// With Options.InlineMax set (at most [MaxInline], 64 KiB), a snapshot
// whose age file is at most that size is stored inline: one conditional
// write of snapshot.json instead of two writes, halving the requests for
// many small snapshots. snapshot.json is the manifest above with
// "version": 2, no "object", and the age file base64-encoded (standard
// alphabet, padded) in "inline":
//
//	{ "format": "mlsbackup-snapshot-manifest", "version": 2, ...,
//	  "encryption": "age-v1",
//	  "plaintext":  {"size": 1234, "sha256": "<hex>"},
//	  "ciphertext": {"size": 1456, "sha256": "<hex>"},
//	  "inline": "<base64 of the age file>" }
//
// The ciphertext size and digest describe the decoded age file, which
// `jq -r .inline snapshot.json | base64 -d | age -d -i identity.txt`
// decrypts. Its [Ref] has an empty DataKey ([Ref.Inline]). Version 1
// manifests (manifest.json next to snapshot.age) are still read, so a
// backup set may mix both; a listing alone tells them apart.
//
// Readers refuse another format or version, and a manifest whose group,
// epoch or id contradicts its key ([ErrCorrupt]). Unknown fields are
// ignored. [Backup.Verify] downloads the object, decrypts it, and checks
// both sizes and both SHA-256 digests; a bit flip or truncation is
// reported as [ErrCorrupt], a wrong identity as [ErrNoIdentity], each
// naming the object key. The manifest is not secret and not signed: it
// guards against damage, while age's authenticated encryption guards the
// content. Anyone who can write to the bucket and knows the (public)
// recipient can plant a well-formed snapshot; restore therefore also
// checks the snapshot's own group id, epoch and epoch authenticator.
//
// # Lease
//
// Two agents must not silently write the same prefix. The first write of
// a [Backup] (Upload or Prune) acquires P/agent-lease.json:
//
//	{"format": "mlsbackup-agent-lease", "version": 1,
//	 "agent_id": "...", "host": "...", "acquired": "<RFC 3339>"}
//
// If there is none it is created with If-None-Match, so of two agents
// racing exactly one wins. If it names this agent's id, the agent proceeds
// (an agent restarted on the same id keeps its prefix). If it names
// another id, the write fails with a [*LeaseError] that names the holder,
// its host and since when — unless Options.TakeOver is set (the CLI's
// --take-over, meant for one run after a machine was replaced): then the
// agent deletes the lease and creates its own, once, and logs a warning.
// A running agent re-reads the lease at most every
// Options.LeaseCheckInterval (default one minute) before a write; once it
// sees another agent's lease it never takes it back and every further
// write fails with the LeaseError, so after a takeover the old agent stops
// within that interval. Uploads it completes meanwhile are complete,
// immutable snapshots under their own keys and harm nothing. Reads (List,
// Verify, Fetch, restore) need no lease. [Backup.ReleaseLease] gives the
// prefix up. An unreadable lease object stops writes with [ErrCorrupt]
// until a takeover replaces it. Separate agents use separate prefixes.
package uploader
