package framing

import "errors"

// Sentinel errors of the package. Returned errors wrap them.
var (
	// ErrWrongGroup means the message belongs to another group.
	ErrWrongGroup = errors.New("framing: wrong group")
	// ErrWrongEpoch means the message belongs to another epoch.
	ErrWrongEpoch = errors.New("framing: wrong epoch")
	// ErrBadSignature means the FramedContentTBS signature did not verify.
	ErrBadSignature = errors.New("framing: bad signature")
	// ErrBadMembershipTag means the membership tag of a PublicMessage from a
	// member did not verify.
	ErrBadMembershipTag = errors.New("framing: bad membership tag")
	// ErrBadConfirmationTag means a commit's confirmation tag did not verify.
	ErrBadConfirmationTag = errors.New("framing: bad confirmation tag")
	// ErrDecrypt means the sender data or the content of a PrivateMessage
	// failed to decrypt.
	ErrDecrypt = errors.New("framing: decryption failed")
	// ErrMalformed means a decrypted or framed structure did not decode or is
	// inconsistent (for example non-zero padding).
	ErrMalformed = errors.New("framing: malformed message")
	// ErrNotAllowed means the content or sender is not allowed in this wire
	// format (application data in a PublicMessage, a non-member sender in a
	// PrivateMessage, a wire format that is neither).
	ErrNotAllowed = errors.New("framing: content not allowed in this wire format")
)
