package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the program in-process and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), append([]string{"mlsbackup"}, args...),
		streams{in: strings.NewReader(""), out: &out, err: &errOut})
	return code, out.String(), errOut.String()
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	badCfg := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badCfg, []byte("destination:\n  type: s3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	typoCfg := filepath.Join(dir, "typo.yaml")
	if err := os.WriteFile(typoCfg, []byte("snapshot:\n  every_epoch: 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string // substring, if set
		stderr   string // substring, if set
		noStderr bool
	}{
		{"help", []string{"--help"}, exitOK, "COMMANDS:", "", true},
		{"version", []string{"--version"}, exitOK, "mlsbackup version", "", true},
		{"no command", nil, exitUsage, "COMMANDS:", "mlsbackup needs a command", false},
		{"unknown command", []string{"frobnicate"}, exitUsage, "", `unknown command "frobnicate" for mlsbackup`, false},
		{"unknown flag", []string{"--frobnicate"}, exitUsage, "", "flag provided but not defined: -frobnicate", false},
		{"unknown subcommand flag", []string{"config", "check", "--nope"}, exitUsage, "", "see 'mlsbackup config check --help'", false},
		{"unknown group subcommand", []string{"group", "frob"}, exitUsage, "", `unknown command "frob" for mlsbackup group`, false},
		{"group without subcommand", []string{"group"}, exitUsage, "keypackage", "mlsbackup group needs a command", false},
		{"bad log level", []string{"--log-level", "loud", "config", "check"}, exitUsage, "", `--log-level: "loud" is not one of`, false},
		{"bad log format", []string{"--log-format", "xml", "config", "check"}, exitUsage, "", `--log-format: "xml" is not one of`, false},
		{"completion without shell", []string{"completion"}, exitUsage, "", "usage: mlsbackup completion bash|zsh|fish", false},
		{"completion tcsh", []string{"completion", "tcsh"}, exitUsage, "", `unsupported shell "tcsh"`, false},
		{"completion bash", []string{"completion", "bash"}, exitOK, "complete -o bashdefault -o default -F _mlsbackup_complete mlsbackup", "", true},
		{"completion zsh", []string{"completion", "zsh"}, exitOK, "#compdef mlsbackup", "", true},
		{"config defaults", []string{"config", "check"}, exitFailure, "", "encryption: no recipients", false},
		{"bad config", []string{"--config", badCfg, "config", "check"}, exitFailure, "", "destination.s3.bucket: required when type is s3", false},
		{"config typo", []string{"--config", typoCfg, "config", "check"}, exitFailure, "", "line 2: unknown key snapshot.every_epoch", false},
		{"missing config", []string{"--config", filepath.Join(dir, "none.yaml"), "config", "check"}, exitFailure, "", "no such file or directory", false},
		{"data-dir override", []string{"--data-dir", "/srv/x", "config", "show"}, exitOK, "data_dir: /srv/x", "", true},
		{"log flags override", []string{"--log-level", "debug", "--log-format", "json", "config", "show"}, exitOK, "level: debug\n  format: json", "", true},
		{"restore needs a target", []string{"restore"}, exitUsage, "", "give --group ID or --all", false},
		{"restore two selectors", []string{"restore", "--all", "--epoch", "3", "--latest"}, exitUsage, "", "--latest, --epoch and --before exclude each other", false},
		{"restore bad time", []string{"restore", "--all", "--before", "yesterday"}, exitUsage, "", `--before: "yesterday" is not an RFC 3339 time`, false},
		{"group create bad id", []string{"group", "create", "g1"}, exitUsage, "", `"g1" is not a hex group id`, false},
		{"wal without a log", []string{"--data-dir", filepath.Join(dir, "nodata"), "wal"}, exitFailure, "", "no write-ahead log at", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("MLSBACKUP_CONFIG", "")
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit code = %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if tt.stdout != "" && !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, stdout)
			}
			if tt.stderr != "" && !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, stderr)
			}
			if tt.noStderr && stderr != "" {
				t.Errorf("stderr = %q, want nothing", stderr)
			}
		})
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfg, []byte("client_name: from-env-config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MLSBACKUP_CONFIG", cfg)
	code, stdout, stderr := runCLI(t, "config", "show")
	if code != exitOK || !strings.Contains(stdout, "client_name: from-env-config") {
		t.Errorf("exit %d, stdout %q, stderr %q; want the config named by MLSBACKUP_CONFIG", code, stdout, stderr)
	}
}

func TestConfigShowRedactsSecrets(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	doc := "destination:\n  type: s3\n  s3:\n    bucket: bkt\n    access_key_id: AKID\n    secret_access_key: ${TEST_SECRET}\n"
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_SECRET", "very-secret-value")
	code, stdout, stderr := runCLI(t, "--config", cfg, "config", "show")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout+stderr, "very-secret-value") || !strings.Contains(stdout, "secret_access_key: <redacted>") {
		t.Errorf("config show did not redact the secret:\n%s", stdout)
	}
}

// TestEveryCommandHasHelp checks that each registered command (and group
// subcommand) answers --help with its usage and exit code 0.
func TestEveryCommandHasHelp(t *testing.T) {
	a := &app{}
	var paths [][]string
	for _, c := range a.cli().Commands {
		paths = append(paths, []string{c.Name})
		for _, s := range c.Subcommands {
			paths = append(paths, []string{c.Name, s.Name})
		}
	}
	want := []string{"demo", "agent", "group", "outbox", "snapshot", "restore", "keygen", "list", "verify", "prune", "fetch", "copy", "rekey", "wal", "config", "check", "completion", "man"}
	var top []string
	for _, p := range paths {
		if len(p) == 1 {
			top = append(top, p[0])
		}
	}
	if strings.Join(top, " ") != strings.Join(want, " ") {
		t.Errorf("commands = %v, want %v", top, want)
	}
	for _, p := range paths {
		t.Run(strings.Join(p, "_"), func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append(p, "--help")...)
			if code != exitOK || !strings.Contains(stdout, "mlsbackup "+strings.Join(p, " ")) || !strings.Contains(stdout, "USAGE:") {
				t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
		})
	}
}
