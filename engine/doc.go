// Package engine implements the Messaging Layer Security protocol (RFC 9420)
// for mlsbackup: cipher suites, the wire format, the ratchet tree and
// TreeKEM, the key schedule and secret tree, framing, proposals, commits,
// Welcome and KeyPackages, a Group API, and snapshot export/import.
//
// The engine persists only through the [Storage] interface defined here.
// Every state transition is written as one [Batch], so a store that applies
// batches atomically (localstore) makes every transition all-or-nothing.
// [MemStorage] is an in-memory implementation for tests.
//
// The engine is written from the RFC (the module proxy refuses
// github.com/cisco/go-mls, which also stopped at draft-09); its
// cryptography comes from vetted libraries only — the standard library's
// crypto packages, golang.org/x/crypto and cloudflare/circl's HPKE and
// Ed448 — as package suite documents.
//
// # Using it
//
// A [Client] holds an identity, one signature key per cipher suite and its
// unused KeyPackages ([Client.CreateKeyPackage]). It creates groups
// ([Client.CreateGroup]), joins them from a Welcome
// ([Client.JoinFromWelcome]) or by external commit
// ([Client.JoinByExternalCommit]). A [Group] is loaded back with
// [LoadGroup]. [Group.Commit] creates a commit (adds, removes, PSKs,
// self-update) that changes nothing until [Group.MergePendingCommit];
// [Group.Process] handles any incoming message and says what it was;
// [Group.Encrypt] protects application data. Handshake messages are
// PublicMessages unless [Options.PrivateHandshake] is set; external senders
// are configured with [CommitOptions.ExternalSenders] and send with
// [ExternalProposeAdd] and [ExternalProposeRemove]. Every error for bad input wraps
// one of the package's sentinels (ErrMalformed, ErrWrongEpoch, ...), and bad
// input leaves the group unchanged in memory and in storage: transitions
// are computed on copies and swapped in once their batch is applied.
//
// # Credentials
//
// A client presents a basic credential ([NewClient]) or an X.509
// certificate chain with its key ([NewX509Client], RFC 9420 §5.3). Every
// credential that enters a group — an added KeyPackage, an Update or
// commit path that changes a member's credential, an external joiner, each
// member of a tree received with a Welcome or GroupInfo — is checked: an
// x509 chain must parse and its first certificate hold the leaf's
// signature key, then [Options.Authentication] decides
// ([DefaultAuthenticationService]: basic credentials as they are, x509
// chains verified with crypto/x509). A [Member]'s identity comes from its
// credential ([Credential.Identity]) and is not necessarily text. What a
// client's leaves advertise is [Options.Capabilities] (by default all the
// engine implements); what a group requires of its members is set with
// [CommitOptions.RequiredCapabilities]. A client joining by external
// commit refuses a group whose requirements it does not meet
// ([ErrUnsupported]) before it stores anything.
//
// A caller that must not lose a transition's result — the agent's
// transactional outbox — passes an [Attach] (Encrypt, Process, Commit's
// [CommitOptions.Attach], the Client's joins and KeyPackages): it is called
// with the [Outcome] before the batch is applied and stores the caller's
// components in that same batch, so the result is durable exactly when the
// state change is. [CommitOptions.Merge] creates and merges a commit in one
// batch, so no pending commit is ever stored for it.
//
// # Stored components
//
// Client-level components have an empty group id:
//
//	keys/signature_<suite>   signature key pair {opaque priv<V>; opaque pub<V>}
//	keys/kp_<ref hex>        a KeyPackage's init and leaf private keys, the
//	                         last-resort flag and the KeyPackage, and (record
//	                         version 2) the signature private key of an
//	                         X.509 credential; deleted by the join that uses
//	                         it unless last-resort
//
// Per group (all records start with a version byte: 1, or 2 where noted):
//
//	state/context            (version 2) suite, GroupContext, interim transcript hash,
//	                         confirmation tag, own leaf index, tree width,
//	                         restored-from-snapshot flag
//	state/nodes_<f>_<c>      ratchet-tree chunk c of family f, up to 15 nodes as
//	                         an optional<Node> vector (treestore.go): family 0
//	                         holds the nodes x with x mod 16 != 15 (levels
//	                         0–3) at slot x mod 16 of chunk x/16; the others,
//	                         renumbered x/16, go to family 1 by the same rule,
//	                         and so on. A path's nodes fall in about
//	                         log16(n)+1 chunks, and a commit rewrites only
//	                         the chunks of the nodes it changed. Stores of
//	                         context record version 1 held nodes [16c, 16c+16)
//	                         in state/tree_<c>; they are read, and rewritten in
//	                         this layout by the group's next transition.
//	state/proposals          the epoch's proposal cache (ref, proposal, sender,
//	                         and for own Updates the new leaf private key)
//	keys/signature           the member's signature private key
//	keys/path                own leaf and direct-path HPKE private keys
//	keys/pending_commit      own commit not yet merged: the commit without path
//	                         ciphertexts, confirmed transcript hash, confirmation
//	                         tag, digest of the sent content, commit secret and
//	                         the path's private keys
//	epoch_secrets/epoch_<N>.bin
//	                         GroupContext of epoch N, its secrets (sender data,
//	                         exporter, external, confirmation, membership,
//	                         resumption PSK, epoch authenticator, init; a past
//	                         epoch keeps only sender data, resumption PSK and
//	                         authenticator, the rest are zeros), the secret
//	                         tree's header (node secrets), the own
//	                         ratchets' generation leases as of the record's
//	                         last write, and (record version 2) for a past
//	                         epoch the signature keys its leaves had that
//	                         the next commit changed, to verify late
//	                         messages with their epoch's keys
//	epoch_secrets/ratchet_<N>_<leaf>.bin
//	                         one leaf's handshake and application ratchets in
//	                         epoch N, so a message rewrites one small record;
//	                         the member's own leaf's ratchets are stored
//	                         advanced past every generation it leased
//
// The newest [Options.RetainEpochs] epochs keep their records (for late
// application messages and resumption PSKs); older ones are deleted in the
// batch of the commit that retires them. Secrets RFC 9420 §9.2 requires to
// be deleted (joiner, welcome, commit and encryption secrets, path secrets,
// used init keys, consumed ratchet keys) are never written, or are deleted
// in the batch that consumes them.
//
// A sender's ratchet generations are leased in blocks of
// [Options.LeaseBlock]: the lease is stored before a ciphertext of a new
// block is returned, and a reloaded group resumes past the lease, so no key
// and nonce is ever used twice. What is stored is the sender's ratchet
// already advanced past the lease ([secrettree.Tree.Reserve]); the leased
// generations live only in memory, so nothing stored yields the key of a
// message the member sent, and a crash loses the unused ones. An epoch
// starts with nothing leased (its first message leases a block), and the
// member's leaf's ratchets are derived in the batch that enters it, so no
// stored node secret lies on its path (§9.2).
//
// # Snapshots
//
// [ExportSnapshot] writes a GroupSnapshot: magic "MLSBSNAP", version, suite,
// group id, epoch, epoch authenticator, the group's components (without
// the pending commit, and with the member's own ratchets exhausted, as a
// restored member never sends with them: a snapshot yields no key of a
// message the member sent, before or after it was cut) and a SHA-256 of
// everything before it.
// [ImportSnapshot] verifies it, loads it completely in memory, and stores it
// marked restored. The lost state may have used any secret-tree key after
// the snapshot was taken, in the snapshot's epoch and in every later epoch
// it reached by processing the same commits the restored member processes
// to catch up. So a restored member never uses a secret-tree key
// (application or handshake ratchet): [Group.Encrypt] and private
// handshake messages fail with [ErrRestoredEpoch], and its commits go out
// as PublicMessages with an UpdatePath, until it merges a commit of its own
// created after the restore (its fresh commit secret gives an epoch the
// lost state never had) or re-joins by external commit. Processing other
// members' commits keeps the mark; it is stored in state/context, so it
// survives restarts, snapshots of the restored group and their restores.
// A restored member that meets a commit its lost state made (from its own
// leaf, not its pending commit) cannot follow the group: it must re-join.
package engine
