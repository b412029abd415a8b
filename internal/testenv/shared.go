package testenv

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
)

// Shared is one server for all the tests of a package, started on first
// use. Declare it in a test file and close it from TestMain:
//
//	var minio = testenv.NewSharedMinIO()
//
//	func TestMain(m *testing.M) {
//		defer minio.Close()
//		m.Run()
//	}
//
// Each [Shared.Server] call hands out a fresh bucket on that server. Tests
// that kill or restart a server need their own ([MinIO], [Versity]).
type Shared struct {
	kind kind

	mu     sync.Mutex
	srv    *Server
	dir    string
	err    error
	closed bool
}

// NewSharedMinIO returns a [Shared] MinIO server, not yet started.
func NewSharedMinIO() *Shared { return &Shared{kind: minioKind()} }

// NewSharedVersity returns a [Shared] versitygw server, not yet started.
func NewSharedVersity() *Shared { return &Shared{kind: versityKind()} }

// Server starts the shared server if needed and returns a view of it with
// a new, empty bucket. It fails the test if the server cannot start.
func (s *Shared) Server(t testing.TB) *Server {
	t.Helper()
	srv, err := s.get()
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	bucket, err := srv.NewBucket(ctx)
	if err != nil {
		t.Fatal(err)
	}
	view := *srv
	view.Bucket = bucket
	return &view
}

func (s *Shared) get() (*Server, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("testenv: shared %s used after Close", s.kind.name)
	}
	if s.srv != nil || s.err != nil {
		return s.srv, s.err
	}
	dir, err := os.MkdirTemp("", "mlsbackup-"+s.kind.name+"-")
	if err != nil {
		s.err = fmt.Errorf("testenv: start %s: %w", s.kind.name, err)
		return nil, s.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	srv, err := startServer(ctx, s.kind, dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		s.err = err
		return nil, err
	}
	srv.proc.shared = true
	s.srv, s.dir = srv, dir
	return srv, nil
}

// Close stops the server, if it was started, and removes its data.
func (s *Shared) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.srv != nil {
		s.srv.proc.kill()
		_ = os.RemoveAll(s.dir)
		s.srv = nil
	}
}
