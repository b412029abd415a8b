package s3store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// CredentialSource resolves the store's credentials, as its first request
// would, and names where they came from: "static" for [Config.AccessKeyID],
// otherwise the SDK provider's name (e.g. "EnvConfigCredentials",
// "SharedConfigCredentials"). It never returns the credentials.
func (s *Store) CredentialSource(ctx context.Context) (string, error) {
	if s.cfg.AccessKeyID != "" {
		return "static", nil
	}
	creds, err := s.client.Options().Credentials.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("s3store: resolve credentials (SDK chain: environment, shared files, web identity, container or instance role): %w", err)
	}
	return creds.Source, nil
}

// Ping lists at most one key under prefix (a key prefix below the
// store's own [Config.Prefix]; a '/' is added to a non-empty one): it
// succeeds when
// the endpoint answers, accepts the credentials and has the bucket, and
// fails with an error wrapping [uploader.ErrNoBucket],
// [uploader.ErrBadCredentials] or [uploader.ErrAccessDenied] otherwise,
// like any other call. skew is the server's clock minus this machine's,
// from the Date header of the last answer (to about a second), measured
// also when the answer was an error; dated is false if no answer carried
// one.
func (s *Store) Ping(ctx context.Context, prefix string) (skew time.Duration, dated bool, err error) {
	if prefix = strings.Trim(prefix, "/"); prefix != "" {
		prefix += "/"
	}
	in := &s3.ListObjectsV2Input{
		Bucket:  aws.String(s.cfg.Bucket),
		Prefix:  aws.String(s.fullKey(prefix)),
		MaxKeys: aws.Int32(1),
	}
	err = s.retry(ctx, func(ctx context.Context, _ int) error {
		sent := time.Now()
		out, err := s.client.ListObjectsV2(ctx, in)
		received := time.Now()
		var resp *smithyhttp.Response
		var respErr *smithyhttp.ResponseError
		switch {
		case err == nil:
			resp, _ = awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response)
		case errors.As(err, &respErr):
			resp = respErr.Response
		}
		if resp != nil {
			if date, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
				// The server stamped its answer between sending and
				// receiving; take the middle.
				skew, dated = date.Sub(sent.Add(received.Sub(sent)/2)), true
			}
		}
		return err
	})
	return skew, dated, s.wrap("list", prefix+"*", err)
}
