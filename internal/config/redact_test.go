package config

import (
	"strings"
	"testing"
)

func TestRedacted(t *testing.T) {
	c := Default()
	c.Destination.Type = DestinationS3
	c.Destination.S3.Bucket = "b"
	c.Destination.S3.AccessKeyID = "AKIDVISIBLE"
	c.Destination.S3.SecretAccessKey = "hunter2-secret"
	c.Destination.S3.SessionToken = "session-tok3n"
	c.Encryption.Recipients = []string{"age1x"}

	r := c.Redacted()
	if r.Destination.S3.SecretAccessKey != RedactedValue || r.Destination.S3.SessionToken != RedactedValue {
		t.Errorf("Redacted secrets = %q, %q, want %q", r.Destination.S3.SecretAccessKey, r.Destination.S3.SessionToken, RedactedValue)
	}
	if c.Destination.S3.SecretAccessKey != "hunter2-secret" {
		t.Errorf("Redacted changed the original")
	}
	r.Encryption.Recipients[0] = "changed"
	if c.Encryption.Recipients[0] != "age1x" {
		t.Errorf("Redacted shares the recipients slice")
	}

	out, err := c.RedactedYAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"hunter2-secret", "session-tok3n"} {
		if strings.Contains(string(out), secret) {
			t.Errorf("RedactedYAML reveals %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{"AKIDVISIBLE", "secret_access_key: <redacted>", "jitter: 30s", "keep_within: 720h0m0s"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("RedactedYAML lacks %q:\n%s", want, out)
		}
	}

	// The rendering reads back as the same (redacted) configuration.
	back, err := parse(t, string(out), nil)
	if err != nil {
		t.Fatalf("re-parse: %v", err)
	}
	if back.Snapshot != c.Snapshot || back.Destination.S3.SecretAccessKey != RedactedValue {
		t.Errorf("re-parsed %+v, want the redacted original", back)
	}

	empty := Default().Redacted()
	if empty.Destination.S3.SecretAccessKey != "" {
		t.Errorf("unset secret rendered as %q, want empty", empty.Destination.S3.SecretAccessKey)
	}
}
