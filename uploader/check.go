package uploader

import (
	"errors"
	"fmt"
)

// Check names one check that readers make of a backup set; doc.go,
// "Checks", lists them in the order they run. A failed check is reported
// as a [*CheckError] inside the [*ObjectError] naming the object, so that
// `verify --json` can say which check failed for each object.
type Check string

// The checks, in the order a snapshot goes through them.
const (
	// CheckEnvelope: the object parses as a signed envelope (or, with
	// Options.AllowUnsigned, as an unsigned manifest of version 1 or 2).
	CheckEnvelope Check = "envelope"
	// CheckSigned: the object is signed (unsigned ones need
	// Options.AllowUnsigned).
	CheckSigned Check = "signed"
	// CheckSigner: the signer is trusted.
	CheckSigner Check = "signer"
	// CheckSignature: the Ed25519 signature over the payload verifies.
	CheckSignature Check = "signature"
	// CheckPayload: the signed payload parses and is of a known format.
	CheckPayload Check = "payload"
	// CheckLocation: the payload's prefix, key, group, epoch, time and id
	// are the object's real location (detects swaps and replays).
	CheckLocation Check = "location"
	// CheckDownload: the object could be read from the store.
	CheckDownload Check = "download"
	// CheckDecrypt: the age file decrypts with the identity.
	CheckDecrypt Check = "decrypt"
	// CheckChecksums: sizes and SHA-256 digests of the ciphertext and the
	// plaintext equal the signed payload's.
	CheckChecksums Check = "checksums"
	// CheckSnapshot: the plaintext is a snapshot that names the payload's
	// group, epoch and epoch authenticator (made by package restore, which
	// knows the snapshot format).
	CheckSnapshot Check = "snapshot"
	// CheckChain: the group's manifests, by sequence, each name the
	// preceding one (detects deleted and inserted manifests).
	CheckChain Check = "chain"
	// CheckHead: the newest head is valid and the manifests reach as far
	// as it says (detects deleted newest manifests and deleted heads).
	CheckHead Check = "head"
)

// Errors of the signature, chain and head checks.
var (
	// ErrUnsigned: an object is in the unsigned format of version 1 or 2
	// and Options.AllowUnsigned is not set.
	ErrUnsigned = errors.New("uploader: object is not signed")
	// ErrUntrustedSigner: an object is signed by a key that is not among
	// the trusted signers.
	ErrUntrustedSigner = errors.New("uploader: signed by an untrusted key")
	// ErrBadSignature: an object's signature does not verify.
	ErrBadSignature = errors.New("uploader: signature does not verify")
	// ErrBrokenChain: a group's manifests do not form a chain.
	ErrBrokenChain = errors.New("uploader: broken chain")
	// ErrHead: a head is missing, invalid or says more than the manifests
	// present.
	ErrHead = errors.New("uploader: head check failed")
	// ErrNoSigningKey: an upload was attempted without a signing key and
	// without Options.AllowUnsigned.
	ErrNoSigningKey = errors.New("uploader: no signing key configured")
)

// CheckError is the failure of one [Check].
type CheckError struct {
	Check Check
	Err   error
}

// Error implements error: "<check>: <cause>".
func (e *CheckError) Error() string { return string(e.Check) + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *CheckError) Unwrap() error { return e.Err }

// checkErr wraps err (or, if format is set, a new error) as a failure of c.
func checkErr(c Check, err error, format string, args ...any) error {
	if format != "" {
		err = fmt.Errorf("%w: "+format, append([]any{err}, args...)...)
	}
	return &CheckError{Check: c, Err: err}
}

// FailedCheck returns the check that err reports as failed, or "" if err
// is not (or does not wrap) a [*CheckError].
func FailedCheck(err error) Check {
	var ce *CheckError
	if errors.As(err, &ce) {
		return ce.Check
	}
	return ""
}
