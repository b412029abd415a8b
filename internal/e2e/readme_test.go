package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/internal/testenv"
)

// repoRoot is the repository's top directory, seen from this package.
const repoRoot = "../.."

// quickstartBlocks returns, in order, the fenced shell blocks of doc that
// an HTML comment "<!-- quickstart:TAG -->" on the line before marks with
// tag.
func quickstartBlocks(t *testing.T, doc, tag string) []string {
	t.Helper()
	marker := "<!-- quickstart:" + tag + " -->\n```sh\n"
	var blocks []string
	for rest := doc; ; {
		i := strings.Index(rest, marker)
		if i < 0 {
			break
		}
		rest = rest[i+len(marker):]
		end := strings.Index(rest, "```")
		if end < 0 {
			t.Fatalf("README: quickstart:%s block not closed", tag)
		}
		blocks = append(blocks, rest[:end])
		rest = rest[end:]
	}
	if len(blocks) == 0 {
		t.Fatalf("README has no block marked quickstart:%s", tag)
	}
	return blocks
}

// TestREADMEQuickstart runs the README's two quickstarts, local directory
// then MinIO, from the README's own text, with bash, in an empty
// directory and a fresh HOME. What the test substitutes, and nothing else:
//   - the blocks marked quickstart:install (go install of mlsbackup and of
//     MinIO) are not run: the test puts the mlsbackup it built and the
//     pinned MinIO that scripts/test.sh installed on PATH instead
//     (TestREADMEInstallPins checks that the install lines name that
//     module and that MinIO version);
//   - MinIO's ports 127.0.0.1:9000 and :9001 become free ports, so that the
//     test runs beside other servers.
//
// The blocks run under "set -euo pipefail": a command that fails fails
// the test.
func TestREADMEQuickstart(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	minio := testenv.Bin(t, "minio")
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("the README's MinIO quickstart needs curl (7.75 or newer), which is not on PATH")
	}
	api, console := freePort(t), freePort(t)
	minioScript := strings.Join(quickstartBlocks(t, readme, "minio"), "")
	for _, port := range []string{"127.0.0.1:9000", "127.0.0.1:9001"} {
		if !strings.Contains(minioScript, port) {
			t.Fatalf("README's MinIO quickstart does not use %s, which the test substitutes", port)
		}
	}
	minioScript = strings.NewReplacer("127.0.0.1:9000", api, "127.0.0.1:9001", console).Replace(minioScript)
	script := "set -euo pipefail\n" + strings.Join(quickstartBlocks(t, readme, "local"), "") + minioScript

	home, work := t.TempDir(), t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = work
	cmd.Env = append(cleanEnv(),
		"HOME="+home,
		"PATH="+filepath.Dir(binary)+string(os.PathListSeparator)+filepath.Dir(minio)+string(os.PathListSeparator)+os.Getenv("PATH"))
	// The script's background agent and MinIO stay in bash's process
	// group (no job control): a failed run is cleaned up as a whole.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }()
	if err := cmd.Wait(); err != nil {
		logs := ""
		for _, f := range []string{"agent.log", "agent-minio.log", "minio.log"} {
			b, _ := os.ReadFile(filepath.Join(work, f))
			logs += "\n" + f + ":\n" + string(b)
		}
		t.Fatalf("README quickstart: %v\nstdout:\n%s\nstderr:\n%s%s", err, stdout.String(), stderr.String(), logs)
	}
	out := stdout.String()
	t.Log(out)

	// Each quickstart: the configuration checks out, one snapshot is
	// listed in its destination and verifies, and after the lost disk
	// the group is restored.
	for _, want := range []struct{ what, text string }{
		{"local list", "1 snapshots in file://" + filepath.Join(work, "mlsbackup-bucket") + " "},
		{"MinIO list", "1 snapshots in s3://mls-backups/ at http://" + api + " "},
	} {
		if !strings.Contains(out, want.text) {
			t.Errorf("%s: output lacks %q", want.what, want.text)
		}
	}
	for _, want := range []string{"configuration ok", "1 snapshots verified", "1 restored, 0 would be restored, 0 up to date, 0 failed"} {
		if n := strings.Count(out, want); n != 2 {
			t.Errorf("output has %q %d times, want 2 (one per quickstart)", want, n)
		}
	}
	// The backups are where the quickstarts say: the directory bucket and
	// MinIO's data directory (which keeps an object as a directory).
	for _, p := range []string{
		filepath.Join(work, "mlsbackup-bucket", "mlsbackup", "agent-lease.json"),
		filepath.Join(home, "minio-data", "mls-backups", "mlsbackup", "agent-lease.json"),
		filepath.Join(work, "mlsbackup-data", "mls"),
		filepath.Join(work, "mlsbackup-minio-data", "mls"),
	} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("after the quickstarts: %v", err)
		}
	}
}

// TestREADMEInstallPins: the README's install lines name this module's
// command and the MinIO version scripts/test.sh pins, the binaries that
// TestREADMEQuickstart provides in their place.
func TestREADMEInstallPins(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	install := strings.Join(quickstartBlocks(t, string(raw), "install"), "")
	gomod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	module := regexp.MustCompile(`(?m)^module (\S+)$`).FindSubmatch(gomod)
	if module == nil {
		t.Fatal("go.mod names no module")
	}
	if want := "go install " + string(module[1]) + "/cmd/mlsbackup@latest"; !strings.Contains(install, want) {
		t.Errorf("README's install blocks lack %q:\n%s", want, install)
	}
	script, err := os.ReadFile(filepath.Join(repoRoot, "scripts", "test.sh"))
	if err != nil {
		t.Fatal(err)
	}
	pin := regexp.MustCompile(`(?m)^MINIO_PKG="([^"]+)"$`).FindSubmatch(script)
	if pin == nil {
		t.Fatal("scripts/test.sh pins no MINIO_PKG")
	}
	if want := "go install " + string(pin[1]); !strings.Contains(install, want) {
		t.Errorf("README's install blocks lack %q (the MinIO scripts/test.sh pins):\n%s", want, install)
	}
}

// cleanEnv is this process's environment without the variables that
// would change what the quickstart's commands do.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "MLSBACKUP_") || strings.HasPrefix(kv, "MINIO_") || strings.HasPrefix(kv, "AWS_") ||
			strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "PATH=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// freePort returns a 127.0.0.1:PORT that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	addr, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestQuickstartConfigIsREADMEs: configs/quickstart.yaml, which the
// README calls its local quickstart's configuration with every key spelled
// out, reads as the same configuration as the README's.
func TestQuickstartConfigIsREADMEs(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	local := strings.Join(quickstartBlocks(t, string(raw), "local"), "")
	const start = "cat > mlsbackup.yaml <<'EOF'\n"
	i := strings.Index(local, start)
	if i < 0 {
		t.Fatalf("README's local quickstart does not write mlsbackup.yaml with %q", start)
	}
	doc, _, ok := strings.Cut(local[i+len(start):], "\nEOF\n")
	if !ok {
		t.Fatal("README's mlsbackup.yaml heredoc does not end")
	}
	lookup := func(name string) (string, bool) {
		if name == "HOME" {
			return "/home/someone", true
		}
		return "", false
	}
	fromREADME, err := config.ParseEnv(strings.NewReader(doc), lookup)
	if err != nil {
		t.Fatalf("README's configuration: %v", err)
	}
	f, err := os.Open(filepath.Join(repoRoot, "configs", "quickstart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	example, err := config.ParseEnv(f, lookup)
	if err != nil {
		t.Fatalf("configs/quickstart.yaml: %v", err)
	}
	if !reflect.DeepEqual(fromREADME, example) {
		t.Errorf("configs/quickstart.yaml differs from the README's configuration:\n%+v\nREADME:\n%+v", example, fromREADME)
	}
}
