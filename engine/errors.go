package engine

import (
	"errors"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/framing"
	"github.com/mlsbackup/mlsbackup/engine/secrettree"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/tree"
)

// Sentinel errors of the engine. Every error a [Group] returns for bad input
// wraps one of them, so callers can test with errors.Is.
var (
	// ErrWrongEpoch means a message belongs to an epoch the group cannot
	// process (not the current one, nor a retained past one for application
	// messages).
	ErrWrongEpoch = errors.New("engine: wrong epoch")
	// ErrWrongGroup means a message belongs to another group.
	ErrWrongGroup = errors.New("engine: wrong group")
	// ErrBadSignature means a signature did not verify.
	ErrBadSignature = errors.New("engine: bad signature")
	// ErrBadMembershipTag means the membership tag of a PublicMessage did
	// not verify.
	ErrBadMembershipTag = errors.New("engine: bad membership tag")
	// ErrBadConfirmationTag means a commit's confirmation tag (or a
	// GroupInfo's) did not verify.
	ErrBadConfirmationTag = errors.New("engine: bad confirmation tag")
	// ErrDecrypt means a ciphertext failed to decrypt.
	ErrDecrypt = errors.New("engine: decryption failed")
	// ErrMalformed means a message or structure does not decode or is
	// inconsistent.
	ErrMalformed = errors.New("engine: malformed input")
	// ErrReplay means the key of a PrivateMessage was already consumed
	// (a replayed or very late message).
	ErrReplay = errors.New("engine: replayed or expired message")
	// ErrTooLarge means a message exceeds the configured maximum size.
	ErrTooLarge = errors.New("engine: message too large")
	// ErrNotMember means the sender is not a member of the group, or this
	// client is no longer one.
	ErrNotMember = errors.New("engine: not a member")
	// ErrPendingCommit means an operation is not possible while a commit
	// created by this member is pending (merge or clear it first).
	ErrPendingCommit = errors.New("engine: pending commit")
	// ErrNoPendingCommit means there is no pending commit to merge.
	ErrNoPendingCommit = errors.New("engine: no pending commit")
	// ErrRestoredEpoch means the member was restored from a snapshot and
	// has not yet merged a commit of its own since: the lost state may have
	// used the ratchet keys of this epoch (and of any epoch reached by
	// processing others' commits), so sending is refused until the member
	// commits a self-update (or re-joins by external commit).
	ErrRestoredEpoch = errors.New("engine: restored from a snapshot: commit a self-update (or re-join by external commit) before sending")
	// ErrInvalidProposal means a proposal or proposal list violates RFC 9420
	// §12.1–§12.2.
	ErrInvalidProposal = errors.New("engine: invalid proposal")
	// ErrInvalidCommit means a commit violates RFC 9420 §12.4.
	ErrInvalidCommit = errors.New("engine: invalid commit")
	// ErrInvalidWelcome means a Welcome or GroupInfo failed validation.
	ErrInvalidWelcome = errors.New("engine: invalid welcome")
	// ErrInvalidKeyPackage means a KeyPackage failed validation (§10.1).
	ErrInvalidKeyPackage = errors.New("engine: invalid key package")
	// ErrBadCredential means a credential does not bind the member's
	// signature key (an x509 chain that does not parse, or whose first
	// certificate holds another key) or the [AuthenticationService]
	// refused it.
	ErrBadCredential = errors.New("engine: credential not acceptable")
	// ErrNoKeyPackage means no stored KeyPackage private key matches.
	ErrNoKeyPackage = errors.New("engine: no matching key package")
	// ErrUnknownPSK means a pre-shared key is not available.
	ErrUnknownPSK = errors.New("engine: unknown pre-shared key")
	// ErrUnsupported means a cipher suite, version or feature is not
	// supported.
	ErrUnsupported = errors.New("engine: unsupported")
	// ErrCorrupt means stored state or a snapshot is inconsistent.
	ErrCorrupt = errors.New("engine: corrupt stored state")
	// ErrClosed means the group can no longer be used (this member was
	// removed, or the group was reinitialized).
	ErrClosed = errors.New("engine: group closed")
)

// ProposalError reports which proposal of a commit or proposal list was
// rejected and why. It unwraps to the cause, which wraps [ErrInvalidProposal]
// or another sentinel.
type ProposalError struct {
	// Index is the position in the commit's proposal list (-1 for a
	// standalone proposal).
	Index int
	// Type is the proposal type.
	Type uint16
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *ProposalError) Error() string {
	return fmt.Sprintf("proposal %d (type %#04x): %v", e.Index, e.Type, e.Err)
}

// Unwrap returns the cause.
func (e *ProposalError) Unwrap() error { return e.Err }

// typed wraps err with the engine sentinel matching the sub-package error
// it wraps, so callers only need the engine's sentinels. err keeps its chain.
func typed(err error) error {
	if err == nil {
		return nil
	}
	for _, m := range errorMap {
		if errors.Is(err, m.from) {
			if errors.Is(err, m.to) {
				return err
			}
			return fmt.Errorf("%w: %w", m.to, err)
		}
	}
	return err
}

var errorMap = []struct{ from, to error }{
	{framing.ErrWrongGroup, ErrWrongGroup},
	{framing.ErrWrongEpoch, ErrWrongEpoch},
	{framing.ErrBadSignature, ErrBadSignature},
	{suite.ErrBadSignature, ErrBadSignature},
	{framing.ErrBadMembershipTag, ErrBadMembershipTag},
	{framing.ErrBadConfirmationTag, ErrBadConfirmationTag},
	{framing.ErrDecrypt, ErrDecrypt},
	{suite.ErrDecrypt, ErrDecrypt},
	{secrettree.ErrStale, ErrReplay},
	{secrettree.ErrTooFarAhead, ErrDecrypt},
	{secrettree.ErrLeafRange, ErrNotMember},
	{secrettree.ErrExhausted, ErrDecrypt},
	{framing.ErrMalformed, ErrMalformed},
	{framing.ErrNotAllowed, ErrMalformed},
	{codec.ErrTooLong, ErrMalformed},
	{codec.ErrShort, ErrMalformed},
	{codec.ErrNonMinimal, ErrMalformed},
	{codec.ErrInvalidHeader, ErrMalformed},
	{codec.ErrTrailing, ErrMalformed},
	{codec.ErrInvalid, ErrMalformed},
	{tree.ErrMalformed, ErrMalformed},
	{suite.ErrUnsupported, ErrUnsupported},
	{suite.ErrInvalidKey, ErrMalformed},
}
