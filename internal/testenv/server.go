package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is a running S3 server and one bucket on it.
type Server struct {
	// Kind is "minio" or "versitygw".
	Kind string
	// Endpoint is the base URL, http://127.0.0.1:PORT.
	Endpoint string
	// Region is the region the server expects in signatures.
	Region string
	// AccessKey and SecretKey are the server's freshly generated root
	// credentials.
	AccessKey, SecretKey string
	// Bucket is a bucket that exists and was empty when the Server was
	// handed out.
	Bucket string

	proc *process
}

// Kill kills the server process group with SIGKILL, as a crash would,
// and waits for it to exit. The data directory stays for [Server.Restart].
func (s *Server) Kill() error {
	if s.proc.shared {
		return fmt.Errorf("testenv: kill %s: server is shared; use a dedicated one", s.Kind)
	}
	s.proc.kill()
	return nil
}

// Restart starts the server again on the same port, data directory and
// credentials after [Server.Kill], and waits until it is ready.
func (s *Server) Restart() error {
	if s.proc.shared {
		return fmt.Errorf("testenv: restart %s: server is shared; use a dedicated one", s.Kind)
	}
	s.proc.kill()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := s.proc.start(ctx); err != nil {
		return fmt.Errorf("testenv: restart %s: %w", s.Kind, err)
	}
	return nil
}

// NewBucket creates another empty bucket on the same server and returns
// its name.
func (s *Server) NewBucket(ctx context.Context) (string, error) {
	name := "test-" + randHex(8)
	if err := createBucket(ctx, s, name); err != nil {
		return "", err
	}
	return name, nil
}

// startTimeout bounds how long a server may take to become ready.
const startTimeout = 90 * time.Second

// kind describes how to run one server implementation.
type kind struct {
	name   string
	bin    string
	region string
	// args returns the command line for a server on addr with its
	// data under dir.
	args func(addr, consoleAddr, dir string) []string
	// env returns extra environment variables.
	env func(access, secret string) []string
	// healthPath answers 200 once the server is ready.
	healthPath string
}

// process is one server process, restartable on the same address.
type process struct {
	kind   kind
	bin    string
	dir    string // data and log directory
	addr   string // 127.0.0.1:port
	access string
	secret string
	shared bool

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	log  *os.File
}

// startServer starts a server of kind k with its data under dir and
// returns it with a fresh bucket. The caller stops it with proc.kill.
func startServer(ctx context.Context, k kind, dir string) (*Server, error) {
	bin, err := LookBin(k.bin)
	if err != nil {
		return nil, err
	}
	p := &process{
		kind:   k,
		bin:    bin,
		dir:    dir,
		access: "AK" + strings.ToUpper(randHex(9)),
		secret: randHex(20),
	}
	// A free port can be taken between probing and binding; try again
	// on a new one.
	for attempt := 1; ; attempt++ {
		if p.addr, err = FreeAddr(); err != nil {
			return nil, err
		}
		err = p.start(ctx)
		if err == nil {
			break
		}
		p.kill()
		if attempt == 3 || ctx.Err() != nil {
			return nil, fmt.Errorf("testenv: start %s: %w", k.name, err)
		}
	}
	s := &Server{
		Kind:      k.name,
		Endpoint:  "http://" + p.addr,
		Region:    k.region,
		AccessKey: p.access,
		SecretKey: p.secret,
		proc:      p,
	}
	if s.Bucket, err = s.NewBucket(ctx); err != nil {
		p.kill()
		return nil, fmt.Errorf("testenv: start %s: %w", k.name, err)
	}
	return s, nil
}

// start launches the process and waits until its health check passes.
func (p *process) start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return errors.New("already running")
	}
	dataDir := filepath.Join(p.dir, "data")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	consoleAddr, err := FreeAddr()
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(p.dir, p.kind.name+".log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.bin, p.kind.args(p.addr, consoleAddr, dataDir)...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), p.kind.env(p.access, p.secret)...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = sysProcAttr()
	// The kernel's parent-death signal follows the OS thread that forked
	// the child, so that thread stays locked and alive until the child
	// exits.
	started := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			_ = logf.Close()
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		_ = logf.Close()
		close(done)
	}()
	if err := <-started; err != nil {
		return err
	}
	p.cmd, p.done, p.log = cmd, done, logf
	if err := waitHealthy(ctx, "http://"+p.addr+p.kind.healthPath, done); err != nil {
		return fmt.Errorf("%w; log: %s", err, tail(filepath.Join(p.dir, p.kind.name+".log")))
	}
	return nil
}

// kill SIGKILLs the process group and waits for the exit. It is a no-op
// when nothing runs.
func (p *process) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	_ = p.cmd.Process.Kill()
	<-p.done
	p.cmd, p.done, p.log = nil, nil, nil
}

// waitHealthy polls url until it answers 200, the process exits or ctx ends.
func waitHealthy(ctx context.Context, url string, exited <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second}
	delay := 20 * time.Millisecond
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("server exited before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("server not ready: %w", ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 250*time.Millisecond)
	}
}

// FreeAddr returns a loopback address (127.0.0.1:PORT) with a port that
// was free a moment ago: for a server to start on, or, left unused, an
// endpoint nothing listens on.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find free port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("find free port: %w", err)
	}
	return addr, nil
}

// tail returns the last lines of a log file for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	const max = 2000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return strings.TrimSpace(string(b))
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// dedicated starts a server for one test and stops it when the test ends.
func dedicated(t testing.TB, k kind) *Server {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	s, err := startServer(ctx, k, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.proc.kill)
	return s
}
