package config

import (
	"bytes"
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"
)

// RedactedValue replaces a secret in [Config.Redacted].
const RedactedValue = "<redacted>"

// secretFields are the dotted paths of secret values: never printed, never
// quoted in an error.
var secretFields = []string{
	"destination.s3.secret_access_key",
	"destination.s3.session_token",
}

func isSecret(path string) bool { return slices.Contains(secretFields, path) }

// Redacted returns a deep copy of c with every secret that is set replaced
// by [RedactedValue], for display.
func (c *Config) Redacted() *Config {
	r := *c
	r.Encryption.Recipients = slices.Clone(c.Encryption.Recipients)
	if r.Destination.S3.SecretAccessKey != "" {
		r.Destination.S3.SecretAccessKey = RedactedValue
	}
	if r.Destination.S3.SessionToken != "" {
		r.Destination.S3.SessionToken = RedactedValue
	}
	return &r
}

// RedactedYAML renders the redacted configuration as YAML, for
// "config show".
func (c *Config) RedactedYAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c.Redacted()); err != nil {
		return nil, fmt.Errorf("render config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("render config: %w", err)
	}
	return buf.Bytes(), nil
}
