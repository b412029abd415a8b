package restore

import (
	"errors"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// Sentinel errors of a restore. A [GroupError] wraps one of them or an error
// of the uploader or the engine.
var (
	// ErrBadRequest means the request itself is inconsistent (no group, or
	// two selections at once).
	ErrBadRequest = errors.New("restore: invalid request")
	// ErrRollback means the local group is at a newer epoch than the
	// snapshot and Options.Force was not set.
	ErrRollback = errors.New("restore: snapshot is older than the local group")
	// ErrMismatch means the snapshot's own group id, epoch or epoch
	// authenticator differs from its manifest.
	ErrMismatch = errors.New("restore: snapshot does not match its manifest")
	// ErrLocalUnreadable means the local group exists but cannot be read,
	// and Options.Force was not set to replace it.
	ErrLocalUnreadable = errors.New("restore: local group state cannot be read")
	// ErrIntegrity means some of the group's backups fail their checks —
	// an object that does not verify, a broken chain, a head that says a
	// newer snapshot existed (deleted snapshots or heads) — and
	// Options.Force was not set. The error joins one per problem, each
	// naming the object and the check.
	ErrIntegrity = errors.New("restore: backups of this group fail their checks (damaged, forged or deleted snapshots or heads)")
)

// GroupError is the failure of one group's restore. Its message names the
// group, the snapshot object (when one was selected), the cause and what the
// operator can do next.
type GroupError struct {
	// Group is the group id.
	Group []byte
	// Key is the manifest key of the selected snapshot, empty if none.
	Key string
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *GroupError) Error() string {
	s := fmt.Sprintf("group %x", e.Group)
	if e.Key != "" {
		s += " (snapshot " + e.Key + ")"
	}
	s += ": " + e.Err.Error()
	if h := Hint(e.Err); h != "" {
		s += "; " + h
	}
	return s
}

// Unwrap returns the cause.
func (e *GroupError) Unwrap() error { return e.Err }

// Hint says what an operator can do about err, or "" when there is no
// specific advice.
func Hint(err error) string {
	switch {
	case errors.Is(err, ErrRollback):
		return "the local state is newer: keep it, or pass --force to roll the group back"
	case errors.Is(err, ErrLocalUnreadable):
		return "pass --force to replace the unreadable local state with the snapshot"
	case errors.Is(err, uploader.ErrNoSnapshot):
		return "run 'mlsbackup list' to see which snapshots exist"
	case errors.Is(err, uploader.ErrNoIdentity), errors.Is(err, uploader.ErrNoIdentities):
		return "pass the age identity whose recipient the agent encrypts to (--identity FILE)"
	case errors.Is(err, uploader.ErrUntrustedSigner):
		return "trust the agent's signer: pass the identity file keygen wrote with its signing key (--identity FILE), or add the signer to encryption.trusted_signers"
	case errors.Is(err, uploader.ErrUnsigned):
		return "this snapshot is unsigned (an earlier version, or encryption.allow_unsigned): pass --allow-unsigned only if nobody else can write to the destination"
	case errors.Is(err, uploader.ErrBrokenChain), errors.Is(err, uploader.ErrHead):
		return "snapshots or heads were deleted, or the destination was rolled back: run 'mlsbackup verify --all'; --force restores what is there"
	case errors.Is(err, uploader.ErrBadSignature), errors.Is(err, uploader.ErrCorrupt), errors.Is(err, engine.ErrCorrupt),
		errors.Is(err, engine.ErrMalformed), errors.Is(err, ErrMismatch):
		return "this snapshot is damaged or forged: pick another one with --epoch N or --before TIME ('mlsbackup list' shows them)"
	case errors.Is(err, engine.ErrGroupExists):
		return "the group appeared locally while restoring; run the restore again"
	}
	return ""
}
