package uploader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Errors an [ObjectStore] returns, wrapped with the key and operation.
// Callers test them with errors.Is. They are permanent: retrying the same
// call cannot succeed.
var (
	// ErrNotFound: the object (or bucket) does not exist.
	ErrNotFound = errors.New("uploader: object not found")
	// ErrExists: a conditional create found the key already taken.
	ErrExists = errors.New("uploader: object already exists")
	// ErrAccessDenied: the credentials were refused, or they lack a
	// permission the operation needs.
	ErrAccessDenied = errors.New("uploader: access denied")
	// ErrBadCredentials: the server does not know the credentials or
	// they do not match (an unknown access key, a wrong secret, an
	// expired token). It wraps [ErrAccessDenied]; a refusal that does not
	// say which (a bodiless HEAD answer) is ErrAccessDenied alone.
	ErrBadCredentials = fmt.Errorf("%w: the credentials are unknown or wrong", ErrAccessDenied)
	// ErrNoBucket: the bucket does not exist.
	ErrNoBucket = errors.New("uploader: bucket does not exist")
)

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// ObjectStore is a flat key/value object store: S3-compatible buckets or a
// local directory. Keys are '/'-separated paths without a leading slash.
// Objects are immutable once written: the remote layout never overwrites.
//
// Every method honours ctx: when it is cancelled the call returns promptly
// with an error wrapping ctx.Err(), and an interrupted Put leaves no
// visible object.
type ObjectStore interface {
	// Put stores the bytes read from r (size bytes, or -1 if unknown) under
	// key. With ifNoneMatch it fails with [ErrExists] if key exists
	// (S3 If-None-Match: *), so two writers cannot silently overwrite each
	// other. The object becomes visible only when complete.
	Put(ctx context.Context, key string, r io.Reader, size int64, ifNoneMatch bool) error
	// Get opens the object for reading. The caller closes it.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Stat returns the object's info or [ErrNotFound].
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// List returns every object whose key starts with prefix, sorted by key.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// String names the store for messages, e.g. "s3://bucket/prefix"; it
	// never contains credentials.
	String() string
}
