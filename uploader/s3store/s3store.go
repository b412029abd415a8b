// Package s3store is the S3 [uploader.ObjectStore], on aws-sdk-go-v2: AWS
// S3 and S3-compatible servers (MinIO, versitygw) through a custom
// endpoint and path-style addressing.
//
// Credentials are static when [Config.AccessKeyID] is set, and otherwise
// come from the SDK's standard chain: environment, shared config and
// credentials files (with [Config.Profile]), web identity, container and
// instance roles.
//
// Put streams: an object of up to [Config.PartSize] bytes is one
// PutObject; a larger or unknown-size object is a multipart upload of
// PartSize parts, [Config.Concurrency] of them in flight, so memory stays
// bounded by Concurrency+1 part buffers. A multipart upload becomes
// visible only when CompleteMultipartUpload succeeds; on any failure or
// cancellation it is aborted. If the server cannot be reached to abort
// (it crashed), the parts stay invisible until [Store.AbortUploads] or a
// bucket lifecycle rule (AbortIncompleteMultipartUpload) removes them.
// Bodies of 1 MiB or more are sent with UNSIGNED-PAYLOAD and a CRC32C
// header that the server checks (see checksum.go for why that is safe),
// instead of a SHA-256 payload hash computed by both sides.
// Put with ifNoneMatch sends If-None-Match: * on PutObject and on
// CompleteMultipartUpload, so of two writers of one key exactly one wins
// and the other gets [uploader.ErrExists].
//
// Every request is retried on transient errors only — 5xx, throttling,
// timeouts, reset or refused connections — up to [Config.MaxAttempts]
// attempts with exponential backoff and jitter; never after the context
// ends. A request body is resent from the buffer it was read into. A
// retried conditional write that finds the key taken checks whether the
// object there is its own (same ETag) from an attempt whose response was
// lost, so a lost response is not mistaken for a conflict.
package s3store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"

	"github.com/mlsbackup/mlsbackup/uploader"
)

// Limits of S3 multipart uploads.
const (
	MinPartSize = 5 << 20
	MaxPartSize = 5 << 30
	maxParts    = 10000
)

// Defaults for the zero values of [Config].
const (
	DefaultPartSize       = 16 << 20
	DefaultConcurrency    = 4
	DefaultMaxAttempts    = 5
	DefaultRetryBaseDelay = 200 * time.Millisecond
	DefaultRetryMaxDelay  = 10 * time.Second
	DefaultRegion         = "us-east-1"
)

// Config configures a [Store]. Zero values take the defaults above.
type Config struct {
	// Bucket is required.
	Bucket string
	// Prefix is prepended to every key, with a '/' between them.
	Prefix string
	// Region defaults to the SDK's (AWS_REGION, profile) and then to
	// us-east-1.
	Region string
	// Endpoint is a custom base URL such as http://127.0.0.1:9000.
	Endpoint string
	// PathStyle addresses the bucket in the path (MinIO, versitygw)
	// instead of the host name.
	PathStyle bool
	// Profile selects a shared config profile for the SDK chain.
	Profile string
	// AccessKeyID, SecretAccessKey and SessionToken are static
	// credentials; if AccessKeyID is empty the SDK chain is used.
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// PartSize is the multipart part size, at least 5 MiB.
	PartSize int64
	// Concurrency is the number of parts uploaded at once per Put.
	Concurrency int
	// MaxAttempts bounds the attempts of each request, the first included.
	MaxAttempts int
	// RetryBaseDelay and RetryMaxDelay shape the exponential backoff.
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration

	// wrapHTTP, if set, wraps the HTTP client (tests count requests).
	wrapHTTP func(s3.HTTPClient) s3.HTTPClient
}

// String describes the config without its secrets.
func (c Config) String() string {
	creds := "sdk-chain"
	if c.AccessKeyID != "" {
		creds = "static"
	}
	return fmt.Sprintf("s3store.Config{Bucket:%q Prefix:%q Region:%q Endpoint:%q PathStyle:%v Profile:%q Credentials:%s PartSize:%d Concurrency:%d MaxAttempts:%d}",
		c.Bucket, c.Prefix, c.Region, redactURL(c.Endpoint), c.PathStyle, c.Profile, creds, c.PartSize, c.Concurrency, c.MaxAttempts)
}

// GoString is String, so that %#v does not print secrets either.
func (c Config) GoString() string { return c.String() }

// withDefaults fills zero values and validates.
func (c Config) withDefaults() (Config, error) {
	if c.Bucket == "" {
		return c, errors.New("s3store: bucket: required")
	}
	if c.AccessKeyID == "" && (c.SecretAccessKey != "" || c.SessionToken != "") {
		return c, errors.New("s3store: access_key_id: required when a secret or session token is given")
	}
	if c.AccessKeyID != "" && c.SecretAccessKey == "" {
		return c, errors.New("s3store: secret_access_key: required with access_key_id")
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, fmt.Errorf("s3store: endpoint %q: want http(s)://host[:port]", redactURL(c.Endpoint))
		}
	}
	if c.PartSize == 0 {
		c.PartSize = DefaultPartSize
	}
	if c.PartSize < MinPartSize || c.PartSize > MaxPartSize {
		return c, fmt.Errorf("s3store: part_size %d: want %d to %d bytes", c.PartSize, MinPartSize, MaxPartSize)
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Concurrency < 1 || c.Concurrency > 64 {
		return c, fmt.Errorf("s3store: concurrency %d: want 1 to 64", c.Concurrency)
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.MaxAttempts < 1 || c.MaxAttempts > 20 {
		return c, fmt.Errorf("s3store: max_attempts %d: want 1 to 20", c.MaxAttempts)
	}
	if c.RetryBaseDelay <= 0 {
		c.RetryBaseDelay = DefaultRetryBaseDelay
	}
	if c.RetryMaxDelay <= 0 {
		c.RetryMaxDelay = DefaultRetryMaxDelay
	}
	c.RetryMaxDelay = max(c.RetryMaxDelay, c.RetryBaseDelay)
	c.Prefix = strings.Trim(c.Prefix, "/")
	if c.Prefix != "" {
		c.Prefix += "/"
	}
	return c, nil
}

// Store is an [uploader.ObjectStore] in an S3 bucket. It is safe for
// concurrent use.
type Store struct {
	cfg    Config
	client *s3.Client
	bufs   sync.Pool // *[]byte of cfg.PartSize
}

var _ uploader.ObjectStore = (*Store)(nil)

// New returns a Store for cfg. It resolves the region and credentials
// but makes no request: a wrong bucket or credential shows on first use.
func New(ctx context.Context, cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(newHTTPClient(cfg.Concurrency)),
		// Retries are ours (retry.go): transient errors only, with the
		// body rewound, and no retry quota to run dry.
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(cfg.Profile))
	}
	if cfg.AccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3store: load aws config: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = DefaultRegion
	}
	cfg.Region = awsCfg.Region
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
		// A library does not print: failures come back as errors.
		o.Logger = logging.Nop{}
		o.DisableLogOutputChecksumValidationSkipped = true
		// No SDK-chosen checksum of every body and response: large
		// bodies carry a CRC32C that Put computes itself and sends as
		// a header (checksum.go), small ones a signed SHA-256 payload
		// hash (over HTTPS, TLS), and the manifest's SHA-256 of every
		// snapshot object is checked end to end by verify and restore.
		// This also keeps the aws-chunked trailer encoding away from
		// S3-compatible servers.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		if cfg.wrapHTTP != nil {
			o.HTTPClient = cfg.wrapHTTP(o.HTTPClient)
		}
	})
	s := &Store{cfg: cfg, client: client}
	s.bufs.New = func() any {
		b := make([]byte, cfg.PartSize)
		return &b
	}
	return s, nil
}

// newHTTPClient keeps enough idle connections for concurrent requests and
// gives up on a server that stops answering.
func newHTTPClient(concurrency int) *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConns = 256
		tr.MaxIdleConnsPerHost = max(64, 2*concurrency)
		tr.ResponseHeaderTimeout = 2 * time.Minute
	}).WithDialerOptions(func(d *net.Dialer) {
		d.Timeout = 10 * time.Second
	})
}

// Config returns the effective configuration (defaults filled in).
func (s *Store) Config() Config { return s.cfg }

// String implements [uploader.ObjectStore]: s3://bucket/prefix, and the
// endpoint if one is set; never credentials.
func (s *Store) String() string {
	out := "s3://" + s.cfg.Bucket + "/" + s.cfg.Prefix
	if s.cfg.Endpoint != "" {
		out += " at " + redactURL(s.cfg.Endpoint)
	}
	return out
}

// loc names a key for messages: s3://bucket/prefix/key.
func (s *Store) loc(key string) string {
	return "s3://" + s.cfg.Bucket + "/" + s.cfg.Prefix + key
}

// fullKey is the object key in the bucket.
func (s *Store) fullKey(key string) string { return s.cfg.Prefix + key }

// checkKey rejects keys S3 cannot store or that would be ambiguous.
func checkKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || len(key) > 1024 {
		return fmt.Errorf("s3store: invalid key %q", key)
	}
	return nil
}

// redactURL drops user info and query from an endpoint URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable endpoint)"
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}
