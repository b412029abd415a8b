package agent

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/config"
)

// TestSnapshotExportImportRoundTrip: the application exports a group's
// snapshot, loses the data directory, imports the snapshot and continues:
// it reads at once, sends only after its own commit (the restored-epoch
// rule), and the others follow.
func TestSnapshotExportImportRoundTrip(t *testing.T) {
	ctx := ctxT(t)
	dataDir := filepath.Join(shortTempDir(t), "data")
	ta := newTestAgent(t, agentOpts{dataDir: dataDir})
	gid := []byte("export-import")
	if _, err := ta.c.Create(ctx, CreateRequest{GroupID: hexEncode(gid)}); err != nil {
		t.Fatal(err)
	}
	bob := joinPeer(ctx, t, func(kp []byte) (CommitResponse, error) {
		return ta.c.Add(ctx, gid, AddRequest{KeyPackages: [][]byte{kp}})
	})
	snap, err := ta.c.ExportSnapshot(ctx, gid)
	if err != nil {
		t.Fatal(err)
	}
	info, err := ta.c.Info(ctx, gid)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Encrypted || snap.Info.Epoch != info.Epoch || hexEncode(snap.Info.EpochAuthenticator) != info.EpochAuthenticator {
		t.Fatalf("export: encrypted %v epoch %d/%x, group at %d/%s", snap.Encrypted, snap.Info.Epoch, snap.Info.EpochAuthenticator, info.Epoch, info.EpochAuthenticator)
	}
	// An age-encrypted export decrypts to the same snapshot.
	enc, err := ta.c.ExportSnapshot(ctx, gid, ta.id.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	r, err := age.Decrypt(bytes.NewReader(enc.Data), ta.id)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(r)
	if err != nil || !enc.Encrypted || !bytes.Equal(plain, snap.Data) {
		t.Fatalf("encrypted export: %v, encrypted %v, same plaintext %v", err, enc.Encrypted, bytes.Equal(plain, snap.Data))
	}
	msg, err := bob.g.Encrypt(ctx, []byte("sent while alice is away"), nil)
	if err != nil {
		t.Fatal(err)
	}

	// The data directory is lost; the application imports its export.
	ta.stop()
	if err := os.RemoveAll(dataDir); err != nil {
		t.Fatal(err)
	}
	ta.start(0)
	if _, err := ta.c.Import(ctx, snap.Data, false); err != nil {
		t.Fatal(err)
	}
	got, err := ta.c.Receive(ctx, ReceiveRequest{Message: msg})
	if err != nil || string(got.Data) != "sent while alice is away" {
		t.Fatalf("alice reads after the import: %+v, %v", got, err)
	}
	if _, err := ta.c.Send(ctx, gid, SendRequest{Text: "too early"}); !errors.Is(err, engine.ErrRestoredEpoch) {
		t.Fatalf("send after the import: %v, want restored_epoch", err)
	}
	up, err := ta.c.Update(ctx, gid, UpdateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.g.Process(ctx, up.Commit); err != nil {
		t.Fatal(err)
	}
	sent, err := ta.c.Send(ctx, gid, SendRequest{Text: "back"})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := bob.g.Process(ctx, sent.Message); err != nil || string(res.ApplicationData) != "back" {
		t.Fatalf("bob reads alice after her commit: %v", err)
	}
}

// TestPlaintextSnapshotNotOverTCP: the TCP listener gives a snapshot only
// encrypted to the request's recipients.
func TestPlaintextSnapshotNotOverTCP(t *testing.T) {
	ctx := ctxT(t)
	tokenFile := filepath.Join(shortTempDir(t), "token")
	const token = "s3cr3t-t0ken-0123456789"
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ta := newTestAgent(t, agentOpts{edit: func(c *config.Config) { c.Agent.TCPListen, c.Agent.TokenFile = addr, tokenFile }})
	gid := []byte("tcp-export")
	if _, err := ta.c.Create(ctx, CreateRequest{GroupID: hexEncode(gid)}); err != nil {
		t.Fatal(err)
	}
	c, err := DialTCP(addr, token)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var ae *APIError
	if _, err := c.ExportSnapshot(ctx, gid); !errors.As(err, &ae) || ae.Status != 403 || ae.Code != "plaintext_over_tcp" {
		t.Fatalf("plaintext export over TCP: %v, want 403 plaintext_over_tcp", err)
	}
	if s, err := c.ExportSnapshot(ctx, gid, ta.id.Recipient().String()); err != nil || !s.Encrypted {
		t.Fatalf("encrypted export over TCP: %v", err)
	}
}

// TestExporterMatchesPeer: the agent's exporter output equals another
// member's MLS-Exporter output for the same epoch, label and context (the
// engine's exporter is checked against the official key-schedule vectors
// and ts-mls in engine/keyschedule and engine/interop).
func TestExporterMatchesPeer(t *testing.T) {
	ctx := ctxT(t)
	ta := newTestAgent(t, agentOpts{})
	gid := []byte("exporter")
	if _, err := ta.c.Create(ctx, CreateRequest{GroupID: hexEncode(gid)}); err != nil {
		t.Fatal(err)
	}
	bob := joinPeer(ctx, t, func(kp []byte) (CommitResponse, error) {
		return ta.c.Add(ctx, gid, AddRequest{KeyPackages: [][]byte{kp}})
	})
	got, err := ta.c.Exporter(ctx, gid, ExporterRequest{Label: "media keys", Context: []byte{1, 2, 3}, Length: 48})
	if err != nil {
		t.Fatal(err)
	}
	want, err := bob.g.Export("media keys", []byte{1, 2, 3}, 48)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Secret, want) || got.Epoch != bob.g.Epoch() {
		t.Fatalf("exporter: %x at epoch %d, bob has %x at %d", got.Secret, got.Epoch, want, bob.g.Epoch())
	}
	for _, n := range []int{0, MaxExporterLength + 1} {
		if _, err := ta.c.Exporter(ctx, gid, ExporterRequest{Label: "x", Length: n}); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("length %d: %v, want invalid_argument", n, err)
		}
	}
	rep, err := ta.c.Inspect(ctx, gid)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Epoch != got.Epoch || len(rep.Members) != 2 || rep.Members[1].Identity != "bob" || rep.Restored {
		t.Fatalf("inspect: %+v", rep)
	}
}

// TestExternalJoinReceiverNamesJoiner is issue 15's "after an external
// join, other members print sender: 0 with a blank name": the member
// processing an external commit is told the joiner's leaf and identity.
func TestExternalJoinReceiverNamesJoiner(t *testing.T) {
	ctx := ctxT(t)
	ta := newTestAgent(t, agentOpts{})
	gid := []byte("external-sender")
	if _, err := ta.c.Create(ctx, CreateRequest{GroupID: hexEncode(gid)}); err != nil {
		t.Fatal(err)
	}
	joinPeer(ctx, t, func(kp []byte) (CommitResponse, error) {
		return ta.c.Add(ctx, gid, AddRequest{KeyPackages: [][]byte{kp}})
	})
	gi, err := ta.c.GroupInfo(ctx, gid, true)
	if err != nil {
		t.Fatal(err)
	}
	carol := engine.NewClient(engine.NewMemStorage(), []byte("carol"), engine.Options{})
	g, commit, err := carol.JoinByExternalCommit(ctx, gi, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ta.c.Receive(ctx, ReceiveRequest{Message: commit})
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != "commit" || got.Sender != g.OwnIndex() || got.SenderIdentity != "carol" ||
		len(got.Commit.Added) != 1 || got.Commit.Added[0].Identity != "carol" {
		t.Fatalf("alice's view of carol's external join: %+v (commit %+v), want sender %d carol", got, got.Commit, g.OwnIndex())
	}
}

// TestSnapshotNetworkFailureNotInternal is issue 15's "a network failure
// on snapshot is tagged [internal]": an unreachable destination answers
// 503 destination_unreachable.
func TestSnapshotNetworkFailureNotInternal(t *testing.T) {
	ctx := ctxT(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String()
	l.Close() // nothing listens there now
	ta := newTestAgent(t, agentOpts{fromConfig: true, edit: func(c *config.Config) {
		c.Destination.Type = config.DestinationS3
		c.Destination.S3 = config.S3Destination{Bucket: "nowhere", Region: "us-east-1", Endpoint: endpoint, PathStyle: true,
			AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "not-a-secret", PartSizeMiB: 5, Concurrency: 1, MaxAttempts: 1}
	}})
	gid := []byte("unreachable")
	if _, err := ta.c.Create(ctx, CreateRequest{GroupID: hexEncode(gid)}); err != nil {
		t.Fatal(err)
	}
	var ae *APIError
	if _, err := ta.c.Snapshot(ctx, gid); !errors.As(err, &ae) || ae.Status != 503 || ae.Code != "destination_unreachable" {
		t.Fatalf("snapshot to an unreachable destination: %v, want 503 destination_unreachable", err)
	}
}

// TestRemoveIdentityWithTwoLeavesAsks is issue 15's "group remove --member
// bob removed both the stale and the new leaf of bob without a warning":
// an identity holding two leaves is refused unless all_leaves; a leaf index
// removes exactly that leaf.
func TestRemoveIdentityWithTwoLeavesAsks(t *testing.T) {
	ctx := ctxT(t)
	ta := newTestAgent(t, agentOpts{})
	gid := []byte("two-leaves")
	if _, err := ta.c.Create(ctx, CreateRequest{GroupID: hexEncode(gid)}); err != nil {
		t.Fatal(err)
	}
	stale := joinPeer(ctx, t, func(kp []byte) (CommitResponse, error) {
		return ta.c.Add(ctx, gid, AddRequest{KeyPackages: [][]byte{kp}})
	})
	gi, err := ta.c.GroupInfo(ctx, gid, true)
	if err != nil {
		t.Fatal(err)
	}
	// bob re-joins without removing his old leaf.
	bob := engine.NewClient(engine.NewMemStorage(), []byte("bob"), engine.Options{})
	g, commit, err := bob.JoinByExternalCommit(ctx, gi, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ta.c.Receive(ctx, ReceiveRequest{Message: commit}); err != nil {
		t.Fatal(err)
	}
	before, err := ta.c.Info(ctx, gid)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ta.c.Remove(ctx, gid, RemoveRequest{Members: []string{"bob"}}); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "holds 2 leaves") {
		t.Fatalf("remove bob holding two leaves: %v, want invalid_argument naming both leaves", err)
	}
	if after, err := ta.c.Info(ctx, gid); err != nil || after.Epoch != before.Epoch {
		t.Fatalf("the refused removal changed the group: %+v %v", after, err)
	}
	rm, err := ta.c.Remove(ctx, gid, RemoveRequest{Leaves: []uint32{stale.g.OwnIndex()}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Process(ctx, rm.Commit); err != nil {
		t.Fatalf("bob's new leaf processes the removal of his stale one: %v", err)
	}
	info, err := ta.c.Info(ctx, gid)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Members) != 2 || info.Members[1].Index != g.OwnIndex() {
		t.Fatalf("members after removing the stale leaf: %+v, want alice and bob at %d", info.Members, g.OwnIndex())
	}
	if _, err := ta.c.Remove(ctx, gid, RemoveRequest{Leaves: []uint32{7}}); !errors.Is(err, ErrUnknownMember) {
		t.Fatalf("remove an empty leaf: %v, want unknown_member", err)
	}
}

// TestMetricsListenServesOnlyMetrics: agent.metrics_listen serves
// /metrics and /healthz without a token, and nothing of the API.
func TestMetricsListenServesOnlyMetrics(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	newTestAgent(t, agentOpts{edit: func(c *config.Config) { c.Agent.MetricsListen = addr }})
	get := func(path string) (int, string) {
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "mlsbackup_outbox_entries") {
		t.Fatalf("GET /metrics: %d", code)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("GET /healthz: %d", code)
	}
	if code, _ := get("/v1/status"); code != 404 {
		t.Fatalf("GET /v1/status on the metrics listener: %d, want 404", code)
	}
}

// TestExportRefusesSecretKeyWithoutEchoingIt: a secret key given as
// ?recipient= by mistake is refused, and the answer does not carry it.
func TestExportRefusesSecretKeyWithoutEchoingIt(t *testing.T) {
	ctx := ctxT(t)
	ta := newTestAgent(t, agentOpts{})
	gid := []byte("export-secret")
	if _, err := ta.c.Create(ctx, CreateRequest{GroupID: hexEncode(gid)}); err != nil {
		t.Fatal(err)
	}
	secret := ta.id.String()
	_, err := ta.c.ExportSnapshot(ctx, gid, ta.id.Recipient().String(), secret)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "invalid_argument" {
		t.Fatalf("export to a secret key: %v, want invalid_argument", err)
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), secret[len("AGE-SECRET-KEY-1"):]) {
		t.Fatalf("the answer carries the secret key: %v", err)
	}
	if !strings.Contains(err.Error(), "recipient 2") {
		t.Errorf("the answer does not name the recipient by position: %v", err)
	}
}
