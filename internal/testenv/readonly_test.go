package testenv

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// TestVersityReadOnly checks that the read-only account can list and
// read the bucket and that its writes are refused with AccessDenied.
func TestVersityReadOnly(t *testing.T) {
	srv, user := VersityReadOnly(t)
	ctx := t.Context()
	putGet(ctx, t, srv, "by-root", "data")
	ro := s3.New(s3.Options{
		Region:       srv.Region,
		BaseEndpoint: aws.String(srv.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(user.AccessKey, user.SecretKey, ""),
	})
	if _, err := ro.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(srv.Bucket)}); err != nil {
		t.Fatalf("read-only user cannot list: %v", err)
	}
	out, err := ro.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(srv.Bucket), Key: aws.String("by-root")})
	if err != nil {
		t.Fatalf("read-only user cannot read: %v", err)
	}
	out.Body.Close()
	_, err = ro.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(srv.Bucket), Key: aws.String("by-ro"), Body: strings.NewReader("x")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" {
		t.Fatalf("write by the read-only user: got %v, want AccessDenied", err)
	}
}
