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
//	P/heads/<S>.json                         a signed head (see "Chain and head")
//	P/groups/<G>/<E>/<T>-<R>/snapshot.age    the age-encrypted snapshot
//	P/groups/<G>/<E>/<T>-<R>/manifest.json   its signed manifest, written last
//	P/groups/<G>/<E>/<T>-<R>/snapshot.json   or: an inline snapshot, the
//	                                         signed manifest with the age file inside
//	P/check/<X>.probe                        a probe object ([Backup.Probe])
//
// where
//
//   - <G> is the MLS group id in lower-case hex (1 to 256 bytes of id);
//   - <E> is the epoch in decimal, zero-padded to 20 digits, so that keys
//     sort by epoch;
//   - <T> is the creation time in UTC, "YYYYMMDDTHHMMSS.nnnnnnnnnZ"
//     (fixed width, nanoseconds), so that keys sort by time within an epoch;
//   - <R> is 16 random lower-case hex digits, so that two snapshots of the
//     same group, epoch and instant never share a key;
//   - <S> is a head's sequence in decimal, zero-padded to 20 digits;
//   - <X> is 16 random lower-case hex digits.
//
// A probe is what `mlsbackup check` and the agent at start write, read
// back and delete to learn that the prefix can be written. Nothing else
// reads P/check/, so a probe that a crash leaves behind is harmless
// (delete it by hand); List, Verify, Prune and restore never see it.
//
// Keys therefore sort by group, epoch and time, and a listing alone tells
// which snapshots exist ([Backup.ListRefs]). Objects are immutable: every
// object is created with a conditional write (If-None-Match: *) and never
// overwritten; only Prune and Retire (rekey) delete, and only whole snapshots or orphans,
// and a writer deletes its own old heads.
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
// # Signatures
//
// The writer signs every manifest and head with its signing key
// ([SigningKey], Options.SigningKey): Ed25519 (crypto/ed25519), a key
// that cannot decrypt anything. Readers accept an object only if its
// signer is among Options.TrustedSigners (plus the reader's own
// SigningKey). A signer's text form is "ed25519:" and the standard
// base64 (padded) of its 32-byte public key; a signing key file holds
// "MLSBACKUP-SIGNING-KEY-ED25519:" and the base64 of the 32-byte seed,
// plus '#' comments ([GenerateSigningKeyFile]). An identity file names
// the signers its owner trusts in "# trusted-signer: ed25519:…" comment
// lines, which age ignores ([TrustedSigners]).
//
// Every signed object (version 3 of the remote format) is this JSON
// envelope:
//
//	{
//	  "format": "mlsbackup-signed",
//	  "version": 3,
//	  "signer": "ed25519:<base64>",
//	  "payload": "<base64 of the payload's JSON bytes>",
//	  "signature": "<base64 of the Ed25519 signature of exactly those bytes>",
//	  "inline": "<base64 of the age file>"   // inline snapshots only
//	}
//
// The signature covers the payload bytes exactly as stored, so a check by
// hand needs only base64 and an Ed25519 verifier. The payload is the
// statement; readers parse it only after the signature verified.
//
// # Manifest
//
// A manifest's payload is a JSON object:
//
//	{
//	  "format": "mlsbackup-snapshot-manifest",
//	  "version": 3,
//	  "group_id": "<hex>",             // equals <G>
//	  "epoch": 42,                     // equals <E>
//	  "created": "2026-11-25T17:04:23.123456789Z", // equals <T>
//	  "id": "<T>-<R>",
//	  "agent_id": "alice-laptop",      // the uploading agent
//	  "snapshot_format": "<name>",     // the plaintext's format, from the caller
//	  "epoch_authenticator": "<hex>",  // optional, omitted if unknown
//	  "encryption": "age-v1",
//	  "object": "snapshot.age",        // or "inline" for snapshot.json
//	  "plaintext":  {"size": 1234, "sha256": "<hex>"},
//	  "ciphertext": {"size": 1456, "sha256": "<hex>"},
//	  "prefix": "<P>",                 // where the object was written:
//	  "key": "groups/<G>/<E>/<T>-<R>/manifest.json", // its key, relative to P
//	  "sequence": 1234,                // its place in P (see "Chain and head")
//	  "prev": {"sequence": 1200, "sha256": "<hex>"}, // the group's previous
//	                                   // manifest (payload SHA-256); null for the first
//	  "head": 1180                     // the newest head its writer had written; 0: none
//	}
//
// A reader refuses a payload whose prefix, key, group, epoch, time, id or
// object differ from where it found the object: a manifest copied to
// another group's, epoch's, time's or prefix's key, or replayed under a
// newer key, is refused ([CheckLocation]). Unknown fields are ignored.
//
// # Inline snapshots
//
// With Options.InlineMax set (at most [MaxInline], 64 KiB), a snapshot
// whose age file is at most that size is stored inline: one conditional
// write of snapshot.json instead of two writes, halving the requests for
// many small snapshots. snapshot.json is the signed envelope of a
// manifest whose payload has "object": "inline", with the age file in the
// envelope's "inline" field, outside the signature: the payload's
// ciphertext size and digest bind it. `jq -r .inline snapshot.json |
// base64 -d | age -d -i identity.txt` decrypts it. Its [Ref] has an empty
// DataKey ([Ref.Inline]).
//
// # Chain and head
//
// Each signed object takes the next number of its prefix's sequence when
// it is signed, and each manifest names its group's previous manifest
// ("prev"), so a group's manifests form a chain; deleting one breaks the
// next one's link ([ChainErrors]). Retention deletes a group's oldest
// manifests, so the oldest one present may name a predecessor that is
// gone.
//
// A head, P/heads/<S>.json, is a signed envelope whose payload lists the
// newest manifest of every group as its writer knew it — newest by key
// (epoch, then time), as readers select, even if an older snapshot was
// written after it (a rekey or a copy does that; its manifest's "prev"
// still names the group's manifest written just before it):
//
//	{
//	  "format": "mlsbackup-head", "version": 1,
//	  "prefix": "<P>", "key": "heads/<S>.json", "sequence": S,
//	  "written": "<RFC 3339>", "agent_id": "alice-laptop",
//	  "groups": {"<G>": {"sequence": 1234, "sha256": "<payload hex>",
//	                     "epoch": 42, "id": "<T>-<R>"}, ...}
//	}
//
// The writer writes heads coalesced ([Backup.WriteHead], [Backup.HeadPending]):
// a head lists every group, so the agent writes one after uploads at most
// every few seconds and at the end of each snapshot pass, not per upload.
// After writing one it deletes its older heads but the newest three. A
// reader takes the newest head that verifies ([Backup.ReadHead]) and
// checks that no group's newest manifest is older than the head says and
// that no manifest names a newer head than those present
// ([HeadError], [MissingGroups]). Since a head names each group's newest
// manifest by the SHA-256 of its payload and is itself signed, a manifest
// the newest valid head names needs no signature check of its own
// ([Backup.ReadManifestUnder]): restore --all checks one signature for
// them all. A writer learns its next sequence and
// each group's newest manifest before its first signed write: from the
// newest head it trusts, and by reading the newest manifest of every
// group whose newest key is not the one that head names; after a lost
// disk it learns them the same way.
//
// What a head cannot show: manifests uploaded after the newest head can
// be deleted undetected, and so can a head together with every object
// written after it (a rollback). Bucket versioning or Object Lock, and
// the group's other members, whose epochs a restored member sees when it
// catches up, are what stops those.
//
// # Checks
//
// Readers check in this order, each failure a [*CheckError] naming the
// [Check] inside the [*ObjectError] naming the object: envelope, signed,
// signer, signature, payload, location (reading a manifest); download,
// decrypt, checksums ([Backup.Verify], [Backup.Fetch]: the ciphertext's
// and plaintext's sizes and SHA-256 against the payload); then package
// restore parses the plaintext (snapshot: its group id, epoch and epoch
// authenticator against the payload), and checks chain and head.
// Decryption errors: a wrong identity is [ErrNoIdentity], a damaged
// object [ErrCorrupt].
//
// # Unsigned formats
//
// Versions 1 and 2 are the unsigned manifests of earlier versions: the
// payload above without prefix, key, sequence, prev and head, stored as
// is (version 1, manifest.json) or with "inline" and no "object"
// (version 2, snapshot.json). Readers refuse them ([ErrUnsigned]) unless
// Options.AllowUnsigned; Upload writes version 1 or 2 only without a
// SigningKey and with AllowUnsigned. Anyone who can write to the bucket
// and knows the (public) recipient can plant such a manifest.
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
