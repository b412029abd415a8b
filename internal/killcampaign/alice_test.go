package killcampaign

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/agent"
)

// alice is the member under test: the real agent process, with its data
// directory, configuration and kill file.
type alice struct {
	t        *testing.T
	dir      string
	data     string
	config   string
	socket   string
	killFile string
	p        *proc
	cl       *agent.Client
}

// newAlice writes alice's configuration: a data directory, a dir
// destination, an age identity to restore with; no scheduled snapshots
// (the campaign takes them on request), snapshots before removals on.
func newAlice(t *testing.T) *alice {
	t.Helper()
	dir, err := os.MkdirTemp("", "kc") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	a := &alice{t: t, dir: dir, data: filepath.Join(dir, "data"), config: filepath.Join(dir, "config.yaml"),
		killFile: filepath.Join(dir, "kill")}
	a.socket = filepath.Join(a.data, "agent.sock")
	p, err := startProc(nil, "keygen", "--out", filepath.Join(dir, "identity.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.wait(time.Minute); err != nil || p.cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("keygen: %v\n%s", err, p.stderr())
	}
	doc := fmt.Sprintf(`data_dir: %s
client_name: alice
log: {level: warn}
destination:
  type: dir
  dir: {path: %s}
encryption:
  recipients: [%s]
  identity_file: %s
  signing_key_file: %s.signing-key
snapshot: {every_epochs: 0, jitter: 0s, before_remove: true}
`, a.data, filepath.Join(dir, "bucket"), keygenRecipient(t, p.stdout.String()), filepath.Join(dir, "identity.txt"), filepath.Join(dir, "identity.txt"))
	if err := os.WriteFile(a.config, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if a.p != nil && !a.p.exited() {
			a.p.signal(syscall.SIGKILL)
			_ = a.p.wait(time.Minute)
		}
	})
	return a
}

// start runs the agent, with the killpoint aimed at the at-th operation
// from the start when at > 0, and waits until its API answers; then the
// aim is withdrawn. It returns the step the killpoint killed the agent at
// ("" if it came up).
func (a *alice) start(at int64) string {
	a.t.Helper()
	env := []string{"MLSBACKUP_KILL_FILE=" + a.killFile}
	if at > 0 {
		env = append(env, fmt.Sprintf("MLSBACKUP_KILL_AT=%d", at))
	}
	p, err := startProc(env, "--config", a.config, "agent")
	if err != nil {
		a.t.Fatal(err)
	}
	a.p, a.cl = p, nil
	deadline := time.Now().Add(time.Minute)
	for {
		if p.exited() {
			return a.killedAtStart()
		}
		if c, err := agent.Dial(a.socket); err == nil {
			a.cl = c
			break
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("agent did not answer within a minute\n%s", p.stderr())
		}
		time.Sleep(2 * time.Millisecond)
	}
	if at > 0 {
		ok, err := p.arm(a.killFile, 0)
		if err != nil {
			a.t.Fatal(err)
		}
		if !ok {
			a.cl.Close()
			a.cl = nil
			return a.killedAtStart()
		}
	}
	return ""
}

// killedAtStart returns the step of a killpoint kill of the agent that
// exited while starting, and fails on any other exit.
func (a *alice) killedAtStart() string {
	a.t.Helper()
	<-a.p.done
	step, sigkill, code := a.p.outcome()
	if !sigkill || step == "" {
		a.t.Fatalf("agent exited while starting (code %d)\n%s", code, a.p.stderr())
	}
	return step
}

// stop ends the agent with SIGTERM and waits for it.
func (a *alice) stop() {
	a.t.Helper()
	a.p.signal(syscall.SIGTERM)
	if err := a.p.wait(time.Minute); err != nil {
		a.t.Fatal(err)
	}
	if _, _, code := a.p.outcome(); code != 0 {
		a.t.Fatalf("agent exited with code %d on SIGTERM\n%s", code, a.p.stderr())
	}
	a.close()
}

// close drops the client of a gone agent.
func (a *alice) close() {
	if a.cl != nil {
		a.cl.Close()
		a.cl = nil
	}
}

// outbox lists every unacknowledged answer.
func (a *alice) outbox(ctx context.Context) ([]agent.OutboxEntry, error) {
	var all []agent.OutboxEntry
	after := ""
	for {
		l, err := a.cl.Outbox(ctx, after, agent.MaxOutboxLimit)
		if err != nil {
			return nil, fmt.Errorf("list outbox: %w", err)
		}
		all = append(all, l.Entries...)
		if !l.More || len(l.Entries) == 0 {
			return all, nil
		}
		after = l.Entries[len(l.Entries)-1].ID
	}
}

// ackAll acknowledges every entry of the outbox.
func (a *alice) ackAll(ctx context.Context) error {
	es, err := a.outbox(ctx)
	if err != nil || len(es) == 0 {
		return err
	}
	ids := make([]string, 0, len(es))
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	_, err = a.cl.AckOutbox(ctx, ids...)
	return err
}

// keygenRecipient returns the recipient that keygen printed labelled.
func keygenRecipient(t *testing.T, stdout string) string {
	t.Helper()
	for _, line := range strings.Split(stdout, "\n") {
		if v, ok := strings.CutPrefix(line, "recipient: "); ok {
			return v
		}
	}
	t.Fatalf("keygen printed no recipient: %q", stdout)
	return ""
}
