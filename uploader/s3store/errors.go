package s3store

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/mlsbackup/mlsbackup/uploader"
)

// sentinel maps an SDK error to an [uploader] sentinel, or nil.
func sentinel(err error) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "NoSuchKey":
			return uploader.ErrNotFound
		case "NoSuchBucket":
			return uploader.ErrNoBucket
		case "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken",
			"ExpiredToken", "TokenRefreshRequired",
			"XAdminUserNotFound": // versitygw, for an unknown access key (with a 404)
			return uploader.ErrBadCredentials
		case "AccessDenied", "AllAccessDisabled", "AccountProblem":
			return uploader.ErrAccessDenied
		case "PreconditionFailed":
			return uploader.ErrExists
		case "", "NotFound", "Forbidden":
			// HEAD responses have no body, hence only the status.
		default:
			return nil
		}
	}
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) {
		switch respErr.HTTPStatusCode() {
		case http.StatusNotFound:
			return uploader.ErrNotFound
		case http.StatusForbidden:
			return uploader.ErrAccessDenied
		case http.StatusPreconditionFailed:
			return uploader.ErrExists
		}
	}
	return nil
}

// wrap names the operation and object in err and adds the matching
// [uploader] sentinel, keeping the SDK error (and any context error)
// reachable through errors.Is/As.
func (s *Store) wrap(op, key string, err error) error {
	if err == nil {
		return nil
	}
	if sen := sentinel(err); sen != nil {
		if sen == uploader.ErrNoBucket {
			return fmt.Errorf("%s %s: bucket %q: %w: %w", op, s.loc(key), s.cfg.Bucket, sen, err)
		}
		return fmt.Errorf("%s %s: %w: %w", op, s.loc(key), sen, err)
	}
	return fmt.Errorf("%s %s: %w", op, s.loc(key), err)
}

// isCode reports whether err carries the S3 error code.
func isCode(err error, code string) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == code
}
