package interop

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// peerDir is the directory of the ts-mls peer script and its node_modules,
// relative to this package.
const peerDir = "../../internal/tsmls"

// peerCallTimeout bounds one request to the peer, so a hung Node process
// fails the test with its stderr instead of stalling until the go test
// deadline. It is a hang guard, not a speed goal.
const peerCallTimeout = 2 * time.Minute

// peerRequest is one request line to the peer. Byte fields travel as base64,
// which encoding/json does for []byte on both sides.
type peerRequest struct {
	ID              int      `json:"id"`
	Op              string   `json:"op"`
	Client          string   `json:"client,omitempty"`
	Suite           uint16   `json:"suite,omitempty"`
	Identity        []byte   `json:"identity,omitempty"`
	DefaultKeys     bool     `json:"default_keys,omitempty"`
	GroupID         []byte   `json:"group_id,omitempty"`
	Add             [][]byte `json:"add,omitempty"`
	Remove          []uint32 `json:"remove,omitempty"`
	PSK             [][]byte `json:"psk,omitempty"`
	PSKID           []byte   `json:"psk_id,omitempty"`
	PSKSecret       []byte   `json:"psk_secret,omitempty"`
	Public          bool     `json:"public,omitempty"`
	RatchetTree     bool     `json:"ratchet_tree,omitempty"`
	Welcome         []byte   `json:"welcome,omitempty"`
	GroupInfo       []byte   `json:"group_info,omitempty"`
	DefaultEncoding bool     `json:"default_encoding,omitempty"`
	Message         []byte   `json:"message,omitempty"`
	Data            []byte   `json:"data,omitempty"`
	ExporterLabel   string   `json:"exporter_label,omitempty"`
	ExporterContext []byte   `json:"exporter_context,omitempty"`
	ExporterLength  int      `json:"exporter_length,omitempty"`
	// X509Chain, SignKey and PublicKey make a new_client present an
	// X.509 credential and sign with that key (suite encodings).
	X509Chain [][]byte `json:"x509_chain,omitempty"`
	SignKey   []byte   `json:"sign_key,omitempty"`
	PublicKey []byte   `json:"public_key,omitempty"`
	// RequiredCredentials makes create_group require these credential
	// types ("basic", "x509").
	RequiredCredentials []string `json:"required_credentials,omitempty"`
	// Tree is a ratchet tree out of band (join, external_join).
	Tree []byte `json:"tree,omitempty"`
	// NoTree leaves the tree out of a group_info.
	NoTree bool `json:"no_tree,omitempty"`
}

// peerMember is one member as the peer reports it: the identity of a basic
// credential, or the first certificate of an x509 one.
type peerMember struct {
	Index       uint32 `json:"index"`
	Identity    []byte `json:"identity"`
	Certificate []byte `json:"certificate"`
}

// peerResponse is one response line from the peer; which fields are set
// depends on the request's op.
type peerResponse struct {
	ID                 int          `json:"id"`
	OK                 bool         `json:"ok"`
	Error              string       `json:"error"`
	KeyPackage         []byte       `json:"key_package"`
	Commit             []byte       `json:"commit"`
	Welcome            []byte       `json:"welcome"`
	GroupInfo          []byte       `json:"group_info"`
	Kind               string       `json:"kind"`
	Data               []byte       `json:"data"`
	Message            []byte       `json:"message"`
	Epoch              uint64       `json:"epoch"`
	EpochAuthenticator []byte       `json:"epoch_authenticator"`
	Exporter           []byte       `json:"exporter"`
	OwnIndex           uint32       `json:"own_index"`
	Active             bool         `json:"active"`
	Members            []peerMember `json:"members"`
	// Tree is the ratchet tree a Welcome or GroupInfo left out.
	Tree []byte `json:"tree"`
}

// lockedBuffer collects the peer's stderr for failure messages.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// peer is a running ts-mls peer process.
type peer struct {
	t      testing.TB
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan []byte
	stderr *lockedBuffer
	nextID int
	broken error
}

// startPeer starts the Node peer and stops it when the test ends. It fails
// the test (never skips) when node or the peer's dependencies are missing.
func startPeer(t testing.TB) *peer {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed (%v): run bash scripts/test.sh, which installs Node.js and the ts-mls peer", err)
	}
	dir, err := filepath.Abs(peerDir)
	if err != nil {
		t.Fatalf("peer directory: %v", err)
	}
	for _, need := range []string{"peer.mjs", "node_modules/ts-mls/package.json", "node_modules/@noble/hashes/package.json"} {
		if _, err := os.Stat(filepath.Join(dir, need)); err != nil {
			t.Fatalf("ts-mls peer not installed (%v): run bash scripts/test.sh, which runs npm ci in internal/tsmls", err)
		}
	}
	cmd := exec.Command(node, "peer.mjs")
	cmd.Dir = dir
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("peer stdin: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("peer stdout: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start peer: %v", err)
	}
	p := &peer{t: t, cmd: cmd, stdin: stdin, lines: make(chan []byte), stderr: stderr}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 1<<16), 64<<20)
		for sc.Scan() {
			p.lines <- append([]byte(nil), sc.Bytes()...)
		}
	}()
	t.Cleanup(p.stop)
	return p
}

// stop closes the peer's stdin, which makes it exit, and waits for it; a peer
// that does not exit in time is killed.
func (p *peer) stop() {
	_ = p.stdin.Close()
	done := make(chan error, 1)
	go func() {
		for range p.lines { // drain so the reader goroutine ends
		}
		done <- p.cmd.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			p.t.Errorf("peer exited: %v\nstderr:\n%s", err, p.stderr.String())
		}
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
		p.t.Errorf("peer did not exit after stdin closed; killed\nstderr:\n%s", p.stderr.String())
	}
}

// errPeerBroken marks a peer whose request/response stream failed.
var errPeerBroken = errors.New("ts-mls peer unusable")

// call sends req and returns the peer's response, or an error: the peer's
// own error message, or a transport failure (with the peer's stderr), after
// which every later call fails too.
func (p *peer) call(req peerRequest) (*peerResponse, error) {
	if p.broken != nil {
		return nil, p.broken
	}
	resp, err := p.roundTrip(req)
	if err != nil {
		p.broken = fmt.Errorf("%w: %s: %v\nstderr:\n%s", errPeerBroken, req.Op, err, p.stderr.String())
		return nil, p.broken
	}
	if !resp.OK {
		return nil, fmt.Errorf("ts-mls %s %s: %s", req.Client, req.Op, resp.Error)
	}
	return resp, nil
}

// roundTrip writes one request line and reads its response line.
func (p *peer) roundTrip(req peerRequest) (*peerResponse, error) {
	p.nextID++
	req.ID = p.nextID
	line, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	if _, err := p.stdin.Write(append(line, '\n')); err != nil {
		return nil, fmt.Errorf("write request: %w", err)
	}
	var raw []byte
	select {
	case l, ok := <-p.lines:
		if !ok {
			return nil, errors.New("peer closed its output")
		}
		raw = l
	case <-time.After(peerCallTimeout):
		return nil, fmt.Errorf("no answer within %v", peerCallTimeout)
	}
	var resp peerResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		return nil, fmt.Errorf("decode response %q: %w", raw, err)
	}
	if resp.ID != req.ID {
		return nil, fmt.Errorf("answer to request %d, want %d", resp.ID, req.ID)
	}
	return &resp, nil
}

// must is call for requests that have to succeed; it fails t otherwise.
func (p *peer) must(t testing.TB, req peerRequest) *peerResponse {
	t.Helper()
	resp, err := p.call(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
