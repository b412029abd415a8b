package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

// peer is an in-memory engine member of the agent's group.
type peer struct {
	c *engine.Client
	g *engine.Group
}

// joinPeer makes the agent (through call) add a new in-memory member bob
// to group gid.
func joinPeer(ctx context.Context, t *testing.T, add func(kp []byte) (CommitResponse, error)) *peer {
	t.Helper()
	p := &peer{c: engine.NewClient(engine.NewMemStorage(), []byte("bob"), engine.Options{})}
	kp, err := p.c.CreateKeyPackage(ctx, DefaultCipherSuite, false)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := add(kp)
	if err != nil {
		t.Fatal(err)
	}
	if p.g, err = p.c.JoinFromWelcome(ctx, resp.Welcome, nil); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReceiveRedeliveryReturnsStoredResult is issue 12's "a kill between
// the durable state change and the answer loses a received message:
// redelivery answers replay and its plaintext is gone". A message
// delivered again returns the stored answer (until acknowledged), and
// GET /v1/outbox lists it.
func TestReceiveRedeliveryReturnsStoredResult(t *testing.T) {
	ctx := ctxT(t)
	ta := newTestAgent(t, agentOpts{})
	gid := []byte("redelivery")
	if _, err := ta.c.Create(ctx, CreateRequest{GroupID: hexEncode(gid)}); err != nil {
		t.Fatal(err)
	}
	bob := joinPeer(ctx, t, func(kp []byte) (CommitResponse, error) {
		return ta.c.Add(ctx, gid, AddRequest{KeyPackages: [][]byte{kp}})
	})
	msg, err := bob.g.Encrypt(ctx, []byte("hello alice"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	first, err := ta.c.Receive(ctx, ReceiveRequest{Message: msg})
	if err != nil {
		t.Fatal(err)
	}
	again, err := ta.c.Receive(ctx, ReceiveRequest{Message: msg})
	if err != nil {
		t.Fatalf("redelivered message: %v, want the stored answer", err)
	}
	if string(again.Data) != "hello alice" || !jsonEqual(t, first, again) {
		t.Fatalf("redelivery answered %+v, want %+v", again, first)
	}
	// A restart keeps the answer.
	ta.stop()
	ta.start(0)
	if again, err = ta.c.Receive(ctx, ReceiveRequest{Message: msg}); err != nil || string(again.Data) != "hello alice" {
		t.Fatalf("redelivery after a restart: %+v, %v", again, err)
	}
	list, err := ta.c.Outbox(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for _, e := range list.Entries {
		if e.Op == "receive" {
			var r ReceiveResponse
			if err := json.Unmarshal(e.Response, &r); err != nil {
				t.Fatal(err)
			}
			if string(r.Data) == "hello alice" {
				id = e.ID
			}
		}
	}
	if id == "" {
		t.Fatalf("outbox %+v lacks the received message", list)
	}
	if r, err := ta.c.AckOutbox(ctx, id, "0000000000000000-00000000000000000000000000000000"); err != nil || r.Acked != 1 || len(r.Unknown) != 1 {
		t.Fatalf("ack: %+v, %v", r, err)
	}
	if _, err := ta.c.Receive(ctx, ReceiveRequest{Message: msg}); !errors.Is(err, engine.ErrReplay) {
		t.Fatalf("redelivery after the ack: %v, want replay", err)
	}
}

// jsonEqual compares two values by their JSON encoding.
func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	return bytes.Equal(mustJSON(t, a), mustJSON(t, b))
}

// TestIdempotencyKeyReturnsStoredAnswer: a retried send or commit with the
// same Idempotency-Key returns the identical answer and changes nothing;
// the key reused for another request is refused.
func TestIdempotencyKeyReturnsStoredAnswer(t *testing.T) {
	ctx := ctxT(t)
	ta := newTestAgent(t, agentOpts{})
	gid := []byte("idempotent")
	if _, err := ta.c.Create(ctx, CreateRequest{GroupID: hexEncode(gid), IdempotencyKey: "create-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ta.c.Create(ctx, CreateRequest{GroupID: hexEncode(gid), IdempotencyKey: "create-1"}); err != nil {
		t.Fatalf("retried create: %v, want the stored answer", err)
	}
	bob := joinPeer(ctx, t, func(kp []byte) (CommitResponse, error) {
		return ta.c.Add(ctx, gid, AddRequest{KeyPackages: [][]byte{kp}, IdempotencyKey: "add-bob"})
	})
	// The retried add returns the same commit and Welcome; no new epoch.
	info, err := ta.c.Info(ctx, gid)
	if err != nil {
		t.Fatal(err)
	}
	s1, err := ta.c.Send(ctx, gid, SendRequest{Text: "once", IdempotencyKey: "send-1"})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := ta.c.Send(ctx, gid, SendRequest{Text: "once", IdempotencyKey: "send-1"})
	if err != nil || !bytes.Equal(s1.Message, s2.Message) {
		t.Fatalf("retried send: %v, same message %v", err, err == nil && bytes.Equal(s1.Message, s2.Message))
	}
	if _, err := ta.c.Send(ctx, gid, SendRequest{Text: "other", IdempotencyKey: "send-1"}); !errors.Is(err, ErrIdempotencyKeyReused) {
		t.Fatalf("key reused for another message: %v, want ErrIdempotencyKeyReused", err)
	}
	if r, err := bob.g.Process(ctx, s1.Message); err != nil || string(r.ApplicationData) != "once" {
		t.Fatalf("bob decrypts: %v", err)
	}
	u1, err := ta.c.Update(ctx, gid, UpdateRequest{IdempotencyKey: "update-1"})
	if err != nil {
		t.Fatal(err)
	}
	u2, err := ta.c.Update(ctx, gid, UpdateRequest{IdempotencyKey: "update-1"})
	if err != nil || !bytes.Equal(u1.Commit, u2.Commit) {
		t.Fatalf("retried update: %v", err)
	}
	after, err := ta.c.Info(ctx, gid)
	if err != nil {
		t.Fatal(err)
	}
	if after.Epoch != info.Epoch+1 {
		t.Fatalf("epoch %d after one update retried, want %d", after.Epoch, info.Epoch+1)
	}
	if _, err := bob.g.Process(ctx, u1.Commit); err != nil {
		t.Fatal(err)
	}
	// Concurrent retries with one key run once.
	var wg sync.WaitGroup
	msgs := make([][]byte, 4)
	for i := range msgs {
		wg.Go(func() {
			r, err := ta.c.Send(ctx, gid, SendRequest{Text: "race", IdempotencyKey: "send-race"})
			if err != nil {
				t.Error(err)
			}
			msgs[i] = r.Message
		})
	}
	wg.Wait()
	for _, m := range msgs[1:] {
		if !bytes.Equal(m, msgs[0]) {
			t.Fatal("concurrent calls with one idempotency key produced different messages")
		}
	}
	// Every answer is in the outbox, oldest first.
	list, err := ta.c.Outbox(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, e := range list.Entries {
		ops = append(ops, e.Op+":"+e.IdempotencyKey)
	}
	want := "create:create-1 commit:add-bob send:send-1 commit:update-1 send:send-race"
	if got := strings.Join(ops, " "); got != want {
		t.Fatalf("outbox = %s, want %s", got, want)
	}
}

// TestOutboxKeepBound: agent.outbox_keep drops the oldest entries beyond
// its count, and entries older than its age, and counts them.
func TestOutboxKeepBound(t *testing.T) {
	ctx := ctxT(t)
	ta := newTestAgent(t, agentOpts{edit: func(c *config.Config) { c.Agent.OutboxKeep.Entries = 3 }})
	gid := []byte("bounded")
	if _, err := ta.c.Create(ctx, CreateRequest{GroupID: hexEncode(gid)}); err != nil {
		t.Fatal(err)
	}
	joinPeer(ctx, t, func(kp []byte) (CommitResponse, error) {
		return ta.c.Add(ctx, gid, AddRequest{KeyPackages: [][]byte{kp}})
	})
	for i := range 5 {
		if _, err := ta.c.Send(ctx, gid, SendRequest{Text: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := ta.c.Outbox(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, e := range list.Entries {
		texts = append(texts, e.Op)
	}
	if len(list.Entries) != 3 || strings.Join(texts, ",") != "send,send,send" {
		t.Fatalf("outbox after 7 answers with a bound of 3: %v", texts)
	}
	ta.a.outbox.now = func() time.Time { return time.Now().Add(25 * time.Hour) }
	ta.a.outbox.trim(ctx)
	if list, err = ta.c.Outbox(ctx, "", 0); err != nil || len(list.Entries) != 0 {
		t.Fatalf("outbox after its age: %d entries, %v", len(list.Entries), err)
	}
	m, err := ta.c.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m, "mlsbackup_outbox_dropped_total 7") || !strings.Contains(m, "mlsbackup_outbox_entries 0") {
		t.Fatalf("metrics lack the outbox counts:\n%s", m)
	}
}

// outboxCrashOp is one operation the crash test runs against the agent.
type outboxCrashOp struct {
	name string
	// run makes the request; the answer is compared after recovery.
	run func(ctx context.Context, a *Agent) (any, error)
	// check examines the recovered agent a; answer is run's answer, nil
	// if it had not returned when the crash hit.
	check func(ctx context.Context, t *testing.T, a *Agent, answer any)
}

// TestKilledBetweenStateAndAnswer is issue 12's "answers lost on a kill":
// send and receive are crashed at every file-system operation. After
// recovery an answered call's answer is in the outbox; a received message
// whose key was consumed has its plaintext there too (delivering it again
// returns it, never replay); a send never reuses a generation.
func TestKilledBetweenStateAndAnswer(t *testing.T) {
	ctx := context.Background()
	gid := []byte("killed")
	base := fsx.NewMem()
	bucket := filepath.Join(t.TempDir(), "bucket")
	a, err := memAgent(t, base, bucket, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Create(ctx, "", gid, 0); err != nil {
		t.Fatal(err)
	}
	bob := joinPeer(ctx, t, func(kp []byte) (CommitResponse, error) { return a.Add(ctx, "", gid, [][]byte{kp}, false, false) })
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	incoming, err := bob.g.Encrypt(ctx, []byte("to alice"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ops := []outboxCrashOp{
		{"receive", func(ctx context.Context, a *Agent) (any, error) { return a.Receive(ctx, incoming, nil) },
			func(ctx context.Context, t *testing.T, a *Agent, answer any) {
				r, err := a.Receive(ctx, incoming, nil)
				if err != nil || string(r.Data) != "to alice" {
					t.Fatalf("message delivered again after the crash: %+v, %v; want its plaintext", r, err)
				}
				if answer != nil && !jsonEqual(t, answer, r) {
					t.Fatalf("answer %+v, after the crash %+v", answer, r)
				}
			}},
		{"send", func(ctx context.Context, a *Agent) (any, error) {
			return a.Send(ctx, "k", gid, []byte("from alice"), nil)
		},
			func(ctx context.Context, t *testing.T, a *Agent, answer any) {
				r, err := a.Send(ctx, "k", gid, []byte("from alice"), nil)
				if err != nil {
					t.Fatal(err)
				}
				if answer != nil && !bytes.Equal(answer.(SendResponse).Message, r.Message) {
					t.Fatal("the retried send after the crash returned another message than the answered one")
				}
				// A fresh send uses a new generation: bob, having seen the
				// first, decrypts the second (a reused one would be a replay).
				next, err := a.Send(ctx, "", gid, []byte("next"), nil)
				if err != nil {
					t.Fatal(err)
				}
				b := bob.clone(ctx, t)
				for _, m := range [][]byte{r.Message, next.Message} {
					if _, err := b.Process(ctx, m); err != nil {
						t.Fatalf("bob processes alice's messages after the crash: %v", err)
					}
				}
			}},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			points := crashPoints(t, base, bucket, false, func(a *Agent) (any, error) { return op.run(ctx, a) })
			for _, p := range points {
				for _, mode := range []fsx.CrashMode{fsx.PowerLoss, fsx.ProcessKill} {
					m := p.fs.Clone()
					m.Crash(mode)
					a, err := memAgent(t, m, bucket, true)
					if err != nil {
						t.Fatalf("recover: %v", err)
					}
					op.check(ctx, t, a, p.answer)
					_ = a.Close()
				}
			}
			t.Logf("%s: %d crash points checked, power loss and process kill", op.name, len(points))
		})
	}
}

// clone returns a copy of bob's group (so each crash point starts from the
// same bob).
func (p *peer) clone(ctx context.Context, t *testing.T) *engine.Group {
	t.Helper()
	data, _, err := p.g.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := engine.NewMemStorage()
	if _, err := engine.ImportSnapshot(ctx, st, data, false); err != nil {
		t.Fatal(err)
	}
	g, err := engine.LoadGroup(ctx, st, p.g.GroupID(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return g
}
