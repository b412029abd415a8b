package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExampleConfigs loads and validates every file in configs/.
func TestExampleConfigs(t *testing.T) {
	t.Setenv("MINIO_ACCESS_KEY", "minio-user")
	t.Setenv("MINIO_SECRET_KEY", "minio-secret-value")
	tests := []struct {
		file     string
		destType string
		check    func(*Config) string
	}{
		{"quickstart.yaml", DestinationDir, func(c *Config) string {
			if c.BucketDir() != "./mlsbackup-bucket" {
				return "bucket dir " + c.BucketDir()
			}
			return ""
		}},
		{"minio.yaml", DestinationS3, func(c *Config) string {
			s := c.Destination.S3
			if !s.PathStyle || s.Endpoint == "" || s.SecretAccessKey != "minio-secret-value" {
				return "want path-style, an endpoint and the secret from the environment"
			}
			return ""
		}},
		{"aws.yaml", DestinationS3, func(c *Config) string {
			s := c.Destination.S3
			if s.Endpoint != "" || s.AccessKeyID != "" || s.Region == "" {
				return "want no endpoint, no static keys and a region"
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c, err := Load(filepath.Join("..", "..", "configs", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if c.Destination.Type != tt.destType {
				t.Errorf("destination.type = %q, want %q", c.Destination.Type, tt.destType)
			}
			if msg := tt.check(c); msg != "" {
				t.Error(msg)
			}
		})
	}
}

// TestMinioExampleNeedsCredentials shows that an unset secret variable is
// an error naming the field, not an empty key.
func TestMinioExampleNeedsCredentials(t *testing.T) {
	t.Setenv("MINIO_ACCESS_KEY", "minio-user")
	_, err := ParseEnv(strings.NewReader("destination:\n  s3:\n    secret_access_key: ${MINIO_SECRET_KEY}\n"),
		func(string) (string, bool) { return "", false })
	if err == nil || !strings.Contains(err.Error(), "destination.s3.secret_access_key: environment variable MINIO_SECRET_KEY is not set") {
		t.Errorf("error = %v, want it to name the field and the variable", err)
	}
}

// TestSystemdUnit checks that the unit runs the agent with the example
// configuration's paths and keeps its hardening.
func TestSystemdUnit(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "configs", "mlsbackup.service"))
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string][]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			settings[k] = append(settings[k], v)
		}
	}
	for _, want := range []struct{ key, value string }{
		{"ExecStart", "/usr/local/bin/mlsbackup --config /etc/mlsbackup/config.yaml --log-format json agent"},
		{"NoNewPrivileges", "yes"},
		{"ProtectSystem", "strict"},
		{"ProtectHome", "yes"},
		{"StateDirectory", "mlsbackup"},
		{"StateDirectoryMode", "0700"},
		{"RuntimeDirectory", "mlsbackup"},
		{"UMask", "0077"},
		{"KillSignal", "SIGTERM"},
	} {
		if got := settings[want.key]; len(got) != 1 || got[0] != want.value {
			t.Errorf("%s = %q, want %q", want.key, got, want.value)
		}
	}
	t.Setenv("MINIO_ACCESS_KEY", "a")
	t.Setenv("MINIO_SECRET_KEY", "b")
	c, err := Load(filepath.Join("..", "..", "configs", "minio.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/var/lib/mlsbackup" || filepath.Dir(c.SocketPath()) != "/run/mlsbackup" {
		t.Errorf("minio.yaml paths %s, %s do not match the unit's state and runtime directories", c.DataDir, c.SocketPath())
	}
}
