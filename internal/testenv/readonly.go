package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// ReadOnlyUser is an account of a [VersityReadOnly] server that may list
// and read the server's bucket but not write to it.
type ReadOnlyUser struct {
	AccessKey, SecretKey string
}

// VersityReadOnly starts a versitygw server for this test alone, like
// [Versity], whose internal IAM (--iam-dir) holds a second account besides
// root, with the role "user", and grants that account only s3:ListBucket
// and s3:GetObject on the fresh bucket through a bucket policy. It returns
// the server (with root credentials) and the read-only account.
func VersityReadOnly(t testing.TB) (*Server, ReadOnlyUser) {
	t.Helper()
	iamDir := t.TempDir()
	user := ReadOnlyUser{AccessKey: "RO" + strings.ToUpper(randHex(9)), SecretKey: randHex(20)}
	type account struct {
		Access string `json:"access"`
		Secret string `json:"secret"`
		Role   string `json:"role"`
	}
	users, err := json.Marshal(map[string]map[string]account{
		"accessAccounts": {user.AccessKey: {Access: user.AccessKey, Secret: user.SecretKey, Role: "user"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(iamDir, "users.json"), users, 0o600); err != nil {
		t.Fatal(err)
	}
	k := versityKind()
	args := k.args
	k.args = func(addr, consoleAddr, dir string) []string {
		return append([]string{"--iam-dir", iamDir}, args(addr, consoleAddr, dir)...)
	}
	srv := dedicated(t, k)
	policy, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Effect":    "Allow",
			"Principal": map[string]string{"AWS": user.AccessKey},
			"Action":    []string{"s3:ListBucket", "s3:GetObject"},
			"Resource":  []string{"arn:aws:s3:::" + srv.Bucket, "arn:aws:s3:::" + srv.Bucket + "/*"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if _, err := srv.Client().PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{
		Bucket: aws.String(srv.Bucket),
		Policy: aws.String(string(policy)),
	}); err != nil {
		t.Fatal(fmt.Errorf("testenv: bucket policy for the read-only user: %w", err))
	}
	return srv, user
}
