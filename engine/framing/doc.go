// Package framing protects and unprotects MLS handshake and application
// messages (RFC 9420 §6) and computes the transcript hashes (§8.2).
//
// A sender builds a [wire.FramedContent], signs it with [Sign] into a
// [wire.AuthenticatedContent], sets the confirmation tag of a commit, and
// then frames it with [ProtectPublic] (signature plus membership tag) or
// [ProtectPrivate] (sender-data and content encryption with the reuse
// guard and zero padding).
//
// A receiver calls [UnprotectPublic] or [UnprotectPrivate], which check the
// group and epoch, the membership tag or the AEAD tags, and return the
// authenticated content; it then looks up the sender's signature key and
// calls [VerifySignature]. When the content carries the bytes it was
// received or signed in ([wire.AuthenticatedContent.RawContent]), the
// signature, membership tag and transcript hash inputs are built from
// those bytes (the latter two MACed and hashed in parts, without a copy)
// instead of encoding a large commit again for each. Secret-tree bookkeeping (which generation may be
// used, deleting consumed keys) stays with the caller: [UnprotectPrivate]
// asks for keys through a [KeyFunc] and never changes state itself, so a
// failed message leaves the group untouched.
//
// Every failure wraps one of the package's sentinel errors ([ErrWrongGroup],
// [ErrWrongEpoch], [ErrBadMembershipTag], [ErrBadSignature], [ErrDecrypt],
// [ErrMalformed], ...), so the group layer can return typed errors.
package framing
