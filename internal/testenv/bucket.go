package testenv

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"
)

// Client returns a plain SDK client for the server, for tests that need
// to look behind an ObjectStore (e.g. at unfinished multipart uploads).
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       s.Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		Logger:       logging.Nop{},

		DisableLogOutputChecksumValidationSkipped: true,
	})
}

// createBucket creates bucket name, retrying briefly while a freshly
// started server finishes initialising.
func createBucket(ctx context.Context, s *Server, name string) error {
	client := s.Client()
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		_, err = client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testenv: create bucket %s: %w", name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("testenv: create bucket %s: %w", name, err)
}
