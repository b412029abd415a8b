package agent

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/internal/testenv"
	"github.com/mlsbackup/mlsbackup/schedule"
	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/dirstore"
)

var sharedMinIO = testenv.NewSharedMinIO()

func TestMain(m *testing.M) {
	code := m.Run()
	sharedMinIO.Close()
	os.Exit(code)
}

// testAgent is one running agent of a test.
type testAgent struct {
	t     *testing.T
	a     *Agent
	c     *Client
	cfg   *config.Config
	id    *age.X25519Identity
	store uploader.ObjectStore // the destination, for the test's checks
	// optStore is passed as Options.Store (nil: from the configuration).
	optStore  uploader.ObjectStore
	clock     schedule.Clock
	maxLoaded int
	fs        fsx.FS    // Options.FS (nil: the real one)
	logw      io.Writer // receives the agent's log too, if set
	lease     uint32    // Options.LeaseBlock
	cancel    context.CancelFunc
	done      chan error
}

// agentOpts tune newTestAgent.
type agentOpts struct {
	identity     string
	everyEpochs  uint64
	beforeRemove bool
	dataDir      string
	store        uploader.ObjectStore // default: a dirstore in a temp dir
	ageID        *age.X25519Identity
	// keyFile is the agent's signing key file (default: a new one); an
	// agent restarted after a lost disk keeps it, as it is provisioned
	// outside the data directory.
	keyFile string
	drain   time.Duration
	edit    func(*config.Config)
	// fromConfig lets the agent open the destination its configuration
	// names (Options.Store nil).
	fromConfig bool
	clock      schedule.Clock
	maxLoaded  int
	fs         fsx.FS // the data directory's file system (nil: the real one)
	// logw, if set, receives the agent's log (text, level info).
	logw io.Writer
	// leaseBlock is the engine's generation lease (0: its default).
	leaseBlock uint32
}

// shortTempDir returns a temporary directory with a short path (unix
// socket paths are limited to about 100 bytes).
func shortTempDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "ag")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func newTestAgent(t *testing.T, o agentOpts) *testAgent {
	t.Helper()
	if o.identity == "" {
		o.identity = "alice"
	}
	if o.dataDir == "" {
		o.dataDir = filepath.Join(shortTempDir(t), "data")
	}
	if o.ageID == nil {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		o.ageID = id
	}
	if o.store == nil && !o.fromConfig {
		st, err := dirstore.New(filepath.Join(shortTempDir(t), "bucket"))
		if err != nil {
			t.Fatal(err)
		}
		o.store = st
	}
	cfg := config.Default()
	cfg.DataDir = o.dataDir
	cfg.ClientName = o.identity
	cfg.Encryption.Recipients = []string{o.ageID.Recipient().String()}
	if o.keyFile == "" {
		o.keyFile = newTestSigningKeyFile(t)
	}
	useSigningKey(t, cfg, o.keyFile)
	cfg.Snapshot.EveryEpochs = o.everyEpochs
	cfg.Snapshot.BeforeRemove = o.beforeRemove
	cfg.Snapshot.Jitter = 0
	if o.edit != nil {
		o.edit(cfg)
	}
	ta := &testAgent{t: t, cfg: cfg, id: o.ageID, store: o.store, optStore: o.store}
	if o.fromConfig {
		st, err := OpenDestination(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		ta.store = st
	}
	ta.clock, ta.maxLoaded, ta.fs, ta.logw, ta.lease = o.clock, o.maxLoaded, o.fs, o.logw, o.leaseBlock
	ta.start(o.drain)
	return ta
}

// start opens and runs the agent and dials it.
func (ta *testAgent) start(drain time.Duration) {
	t := ta.t
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if ta.logw != nil {
		log = slog.New(slog.NewTextHandler(ta.logw, nil))
	}
	a, err := Open(context.Background(), ta.cfg, log, Options{Store: ta.optStore, DrainTimeout: drain, Clock: ta.clock, MaxLoadedGroups: ta.maxLoaded, FS: ta.fs, LeaseBlock: ta.lease})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var c *Client
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err = Dial(a.SocketPath())
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("Dial: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	ta.a, ta.c, ta.cancel, ta.done = a, c, cancel, done
	t.Cleanup(func() { ta.stop() })
}

// stop shuts the agent down and checks that Run returned nil.
func (ta *testAgent) stop() {
	if ta.cancel == nil {
		return
	}
	ta.cancel()
	ta.cancel = nil
	_ = ta.c.Close()
	select {
	case err := <-ta.done:
		if err != nil {
			ta.t.Errorf("Run: %v", err)
		}
	case <-time.After(60 * time.Second):
		ta.t.Errorf("Run did not return after its context ended")
	}
}

// idle waits until the scheduler has nothing queued or running.
func (ta *testAgent) idle() {
	ta.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ta.a.sched.get().WaitIdle(ctx); err != nil {
		ta.t.Fatalf("WaitIdle: %v", err)
	}
}

// backup returns a Backup over the agent's destination that can decrypt.
func (ta *testAgent) backup() *uploader.Backup {
	ta.t.Helper()
	signers, err := uploader.ParseSigners(ta.cfg.Encryption.TrustedSigners)
	if err != nil {
		ta.t.Fatal(err)
	}
	b, err := uploader.New(ta.store, uploader.Options{Prefix: ta.cfg.Destination.Prefix, Identities: []age.Identity{ta.id}, TrustedSigners: signers})
	if err != nil {
		ta.t.Fatal(err)
	}
	return b
}

// testSigningKey gives cfg's agent a fresh signing key (see useSigningKey).
func testSigningKey(tb testing.TB, cfg *config.Config) {
	tb.Helper()
	useSigningKey(tb, cfg, newTestSigningKeyFile(tb))
}

// newTestSigningKeyFile writes a fresh signing key file as keygen does.
func newTestSigningKeyFile(tb testing.TB) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "signing-key")
	if _, err := uploader.GenerateSigningKeyFile(fsx.OS{}, path, time.Now()); err != nil {
		tb.Fatal(err)
	}
	return path
}

// useSigningKey makes the key file path cfg's agent's signing key
// (encryption.signing_key_file) and trusts its signer
// (encryption.trusted_signers) as whoever restores would.
func useSigningKey(tb testing.TB, cfg *config.Config, path string) {
	tb.Helper()
	k, err := uploader.ReadSigningKeyFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Encryption.SigningKeyFile = path
	cfg.Encryption.TrustedSigners = append(cfg.Encryption.TrustedSigners, k.Public().String())
}

// uploadedEpochs lists the epochs of the complete snapshots of group.
func (ta *testAgent) uploadedEpochs(group []byte) []uint64 {
	ta.t.Helper()
	ms, err := ta.backup().List(context.Background(), group)
	if err != nil {
		ta.t.Fatalf("List: %v", err)
	}
	out := []uint64{}
	for _, m := range ms {
		out = append(out, m.Epoch)
	}
	return out
}

// raw sends a raw request to the agent's socket and returns status and body.
func (ta *testAgent) raw(method, path, contentType string, body []byte) (int, []byte) {
	ta.t.Helper()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", ta.a.SocketPath())
	}}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequest(method, "http://agent"+path, bytes.NewReader(body))
	if err != nil {
		ta.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := hc.Do(req)
	if err != nil {
		ta.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// dump returns every stored component of the agent.
func (ta *testAgent) dump() map[string][]byte {
	ta.t.Helper()
	d, err := ta.a.Store().Dump(context.Background())
	if err != nil {
		ta.t.Fatal(err)
	}
	return d
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func hexEncode(b []byte) string { return hex.EncodeToString(b) }

func sortStrings(s []string) []string { sort.Strings(s); return s }

func newHTTPClient() *http.Client { return &http.Client{Timeout: 10 * time.Second} }

// newBenchAgent opens an agent (not running its API) for benchmarks, its
// configuration changed by edits.
func newBenchAgent(b *testing.B, edits ...func(*config.Config)) *Agent {
	b.Helper()
	dir, err := os.MkdirTemp("", "agb")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	id, err := age.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	st, err := dirstore.New(filepath.Join(dir, "bucket"))
	if err != nil {
		b.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.ClientName = "bench"
	cfg.Encryption.Recipients = []string{id.Recipient().String()}
	testSigningKey(b, cfg)
	cfg.Snapshot.EveryEpochs = 0
	for _, edit := range edits {
		edit(cfg)
	}
	a, err := Open(context.Background(), cfg, nil, Options{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	return a
}

// twoMemberGroup has alice create the group gid and add bob, who joins
// from the Welcome (epoch 1).
func twoMemberGroup(ctx context.Context, t *testing.T, alice, bob *testAgent, gid []byte) {
	t.Helper()
	if _, err := alice.c.Create(ctx, CreateRequest{Name: string(gid)}); err != nil {
		t.Fatal(err)
	}
	kp, err := bob.c.KeyPackage(ctx, KeyPackageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	add, err := alice.c.Add(ctx, gid, AddRequest{KeyPackages: [][]byte{kp}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.c.Receive(ctx, ReceiveRequest{Message: add.Welcome}); err != nil {
		t.Fatal(err)
	}
}
