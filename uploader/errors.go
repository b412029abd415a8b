package uploader

import (
	"errors"
	"fmt"
)

// Errors of the backup pipeline, wrapped with the object key or file they
// concern. Callers test them with errors.Is.
var (
	// ErrCorrupt: a snapshot object does not decrypt, or its size or a
	// SHA-256 differs from its manifest, or a manifest contradicts its key.
	ErrCorrupt = errors.New("uploader: snapshot is corrupt")
	// ErrNoIdentity: none of the identities can decrypt the snapshot.
	ErrNoIdentity = errors.New("uploader: no identity matches the snapshot")
	// ErrNoRecipients: an upload was attempted without any recipient.
	ErrNoRecipients = errors.New("uploader: no recipients configured")
	// ErrNoIdentities: a download was attempted without any identity.
	ErrNoIdentities = errors.New("uploader: no identities configured")
	// ErrLeaseHeld: another agent holds the prefix (see [LeaseError]).
	ErrLeaseHeld = errors.New("uploader: prefix is leased by another agent")
	// ErrNoAgentID: a write was attempted without an agent id.
	ErrNoAgentID = errors.New("uploader: no agent id configured")
	// ErrBadMeta: the [SnapshotMeta] given to Upload is invalid.
	ErrBadMeta = errors.New("uploader: invalid snapshot metadata")
	// ErrBadManifest: a manifest is not valid JSON of a known version.
	ErrBadManifest = errors.New("uploader: invalid manifest")
	// ErrNoSnapshot: no complete snapshot matches a selection.
	ErrNoSnapshot = errors.New("uploader: no matching snapshot")
	// ErrNoRetention: Prune was called with a zero [Retention].
	ErrNoRetention = errors.New("uploader: retention keeps nothing but the newest; set keep-last or keep-within")
	// ErrBadKeyFile: a recipients or identities file cannot be parsed.
	ErrBadKeyFile = errors.New("uploader: bad key file")
)

// ObjectError is an error about one object of the store. Its message
// starts with the operation and the object's key.
type ObjectError struct {
	Op  string // "upload", "verify", "fetch", "read manifest", ...
	Key string // full object key
	Err error
}

// Error implements error.
func (e *ObjectError) Error() string { return e.Op + " " + e.Key + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *ObjectError) Unwrap() error { return e.Err }

func objErr(op, key string, err error) error {
	if err == nil {
		return nil
	}
	return &ObjectError{Op: op, Key: key, Err: err}
}

// KeyFileError is a parse error in a recipients or identities file. It never
// contains the content of the offending line, which may be a secret key.
type KeyFileError struct {
	Path string // file name as given, or "-" for a reader without a name
	Line int    // 1-based line number; 0 if the error is about the whole file
	Msg  string
}

// Error implements error.
func (e *KeyFileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
	}
	return e.Path + ": " + e.Msg
}

// Unwrap makes errors.Is(err, [ErrBadKeyFile]) true.
func (e *KeyFileError) Unwrap() error { return ErrBadKeyFile }
