// Package secrettree implements the MLS secret tree and its per-sender hash
// ratchets (RFC 9420 §9).
//
// A [Tree] starts from an epoch's encryption_secret at the root. Node
// secrets are derived lazily along the path to a leaf when that leaf's
// ratchets are first needed; a parent's secret is deleted as soon as both
// children are derived and a leaf's secret as soon as its handshake and
// application ratchets exist (§9.2). Each ratchet yields one key and nonce
// per generation; a consumed key is deleted.
//
// Out-of-order delivery is bounded by [Config]: a receiver derives at most
// MaxForward generations ahead of a ratchet (§15.3 "generation gap") and
// keeps the keys of at most MaxRetained skipped generations per ratchet,
// dropping the oldest first. A request outside those bounds returns a
// [*GenerationError] wrapping [ErrTooFarAhead] or [ErrStale].
//
// Decryption is two-phase so a forged message cannot destroy a key:
// [Tree.Peek] derives a key without changing the tree, and [Tree.KeyNonce]
// (or [Tree.Consume]) deletes it once the message authenticated. Senders use
// [Tree.Next]; after a crash, [Tree.AdvanceTo] skips generations that may
// already have been used.
//
// A sender that persists its tree reserves generations with
// [Tree.Reserve] before it uses them: the encoding then holds its ratchet
// advanced past the reservation, so that nothing stored yields a key it
// may have used, and the reserved generations live only in memory (a tree
// decoded after a crash resumes past them).
//
// # Encoding
//
// [Tree.MarshalBinary] writes the whole state in the TLS presentation
// language (RFC 9420 §2.1, variable-length vectors), canonically: equal
// states encode to equal bytes, and [Tree.UnmarshalBinary] rejects anything
// else (unsorted entries, wrong lengths, inconsistent trees).
//
//	struct {
//	    uint8  version = 1;
//	    uint16 cipher_suite;
//	    uint32 leaf_count;          // 1 .. 2^31
//	    uint32 max_forward;
//	    uint32 max_retained;        // <= 65535
//	    NodeSecret nodes<V>;        // ascending node index
//	    LeafRatchets leaves<V>;     // ascending leaf index
//	} SecretTree;
//
//	struct {
//	    uint32 node;                // array index (RFC 9420 Appendix C)
//	    opaque secret<V>;           // Nh bytes
//	} NodeSecret;
//
//	struct {
//	    uint32 leaf;
//	    Ratchet handshake;
//	    Ratchet application;
//	} LeafRatchets;
//
//	struct {
//	    uint64 next_generation;     // <= 2^32; 2^32 means exhausted
//	    opaque secret<V>;           // Nh bytes; empty iff exhausted
//	    RetainedKey retained<V>;    // ascending generation, all < next_generation
//	} Ratchet;
//
//	struct {
//	    uint32 generation;
//	    opaque key<V>;              // Nk bytes
//	    opaque nonce<V>;            // Nn bytes
//	} RetainedKey;
//
// For incremental persistence the same bytes come in parts:
// [Tree.MarshalHeader] is the SecretTree struct up to and including nodes,
// [Tree.MarshalLeaf] one LeafRatchets record, and [Tree.TakeChanges] says
// which parts changed since it was last called (an application message
// changes one leaf record; the first message of a sender also the header).
// [Tree.UnmarshalParts] reassembles them. MarshalBinary is the header
// followed by the leaf records as leaves<V>.
//
// A reserved ratchet is encoded as its reservation: next_generation and
// secret of the ratchet advanced to the end of the reservation.
//
// A stored node is never an ancestor of another stored node nor of a leaf
// with ratchets, and every leaf has ratchets or a stored ancestor-or-self.
package secrettree
