package agent

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/schedule"
)

// TestSocketMode: the socket is 0600 and is removed on shutdown.
func TestSocketMode(t *testing.T) {
	ta := newTestAgent(t, agentOpts{})
	fi, err := os.Stat(ta.a.SocketPath())
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("socket mode = %v, want 0600", got)
	}
	ta.stop()
	if _, err := os.Stat(ta.a.SocketPath()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after shutdown: %v", err)
	}
	if _, err := Dial(ta.a.SocketPath()); !errors.Is(err, ErrNoAgent) {
		t.Errorf("Dial without an agent = %v, want ErrNoAgent", err)
	}
}

// TestStaleSocket: a socket file left by a dead agent is replaced.
func TestStaleSocket(t *testing.T) {
	dir := filepath.Join(shortTempDir(t), "data")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", filepath.Join(dir, "agent.sock"))
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // the file stays, nobody listens: a dead agent's socket
	ta := newTestAgent(t, agentOpts{dataDir: dir})
	if err := ta.c.Health(ctxT(t)); err != nil {
		t.Fatalf("Health: %v", err)
	}
}

// TestTCPBearer: the TCP listener needs the bearer token.
func TestTCPBearer(t *testing.T) {
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
	ta := newTestAgent(t, agentOpts{edit: func(c *config.Config) {
		c.Agent.TCPListen = addr
		c.Agent.TokenFile = tokenFile
	}})
	_ = ta
	tests := []struct {
		token string
		ok    bool
	}{
		{token, true},
		{"wrong-token-0123456789", false},
		{"", false},
		{token + "x", false},
	}
	for _, tc := range tests {
		c := &Client{http: newHTTPClient(), base: "http://" + addr, token: tc.token}
		_, err := c.Status(ctx)
		var ae *APIError
		switch {
		case tc.ok && err != nil:
			t.Errorf("token %q: %v", tc.token, err)
		case !tc.ok && (!errors.As(err, &ae) || ae.Status != 401 || ae.Code != "unauthorized"):
			t.Errorf("token %q: err %v, want 401 unauthorized", tc.token, err)
		}
	}
	if c, err := DialTCP(addr, token); err != nil {
		t.Errorf("DialTCP: %v", err)
	} else {
		c.Close()
	}
}

// TestCron: with a cron schedule (on an injected clock) a pass uploads
// only the groups whose epoch moved since their last upload.
func TestCron(t *testing.T) {
	ctx := ctxT(t)
	start := time.Now().UTC().Truncate(time.Hour).Add(time.Hour + time.Minute)
	clock := schedule.NewFakeClock(start)
	ta := newTestAgent(t, agentOpts{clock: clock, edit: func(c *config.Config) { c.Snapshot.Cron = "@hourly" }})
	a, b := []byte("a"), []byte("b")
	for _, g := range [][]byte{a, b} {
		if _, err := ta.c.Create(ctx, CreateRequest{Name: string(g)}); err != nil {
			t.Fatal(err)
		}
		if _, err := ta.c.Update(ctx, g, UpdateRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	// pass fires the next @hourly slot and waits until want holds.
	slot := start.Truncate(time.Hour)
	pass := func(want func() bool) {
		t.Helper()
		slot = slot.Add(time.Hour)
		if err := clock.WaitDeadline(ctx, slot); err != nil {
			t.Fatalf("no timer for the slot %v: %v (pending: %v)", slot, err, clock.Deadlines())
		}
		clock.Set(slot)
		// The pass is over when it records its start in the state file.
		deadline := time.Now().Add(20 * time.Second)
		for !(want() && lastPass(ta.a.stateFile()).Equal(slot)) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		ta.idle()
	}
	pass(func() bool { return len(ta.uploadedEpochs(a)) > 0 && len(ta.uploadedEpochs(b)) > 0 })
	if ga, gb := ta.uploadedEpochs(a), ta.uploadedEpochs(b); !reflect.DeepEqual(ga, []uint64{1}) || !reflect.DeepEqual(gb, []uint64{1}) {
		t.Fatalf("after the first pass: a %v, b %v; want [1] each", ga, gb)
	}
	if _, err := ta.c.Update(ctx, a, UpdateRequest{}); err != nil {
		t.Fatal(err)
	}
	pass(func() bool { return len(ta.uploadedEpochs(a)) > 1 })
	if ga, gb := ta.uploadedEpochs(a), ta.uploadedEpochs(b); !reflect.DeepEqual(ga, []uint64{1, 2}) || !reflect.DeepEqual(gb, []uint64{1}) {
		t.Fatalf("after the second pass: a %v, b %v; want a [1 2], b [1]", ga, gb)
	}
}

// TestReload: a reload changes the snapshot schedule of a running agent.
func TestReload(t *testing.T) {
	ctx := ctxT(t)
	ta := newTestAgent(t, agentOpts{everyEpochs: 0})
	gid := []byte("r")
	if _, err := ta.c.Create(ctx, CreateRequest{Name: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ta.c.Update(ctx, gid, UpdateRequest{}); err != nil {
		t.Fatal(err)
	}
	ta.idle()
	if got := ta.uploadedEpochs(gid); len(got) != 0 {
		t.Fatalf("uploads with every_epochs 0: %v", got)
	}
	bad := *ta.cfg
	bad.Snapshot.Cron = "not a cron"
	if err := ta.a.Reload(&bad); err == nil {
		t.Fatalf("Reload accepted a bad cron expression")
	}
	next := *ta.cfg
	next.Snapshot.EveryEpochs = 2
	if err := ta.a.Reload(&next); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if _, err := ta.c.Update(ctx, gid, UpdateRequest{}); err != nil {
		t.Fatal(err)
	}
	ta.idle()
	if got := ta.uploadedEpochs(gid); !reflect.DeepEqual(got, []uint64{2}) {
		t.Fatalf("uploads after reload to every_epochs 2: %v, want [2]", got)
	}
	if st, _ := ta.c.Status(ctx); st.EveryEpochs != 2 {
		t.Errorf("status every_epochs = %d, want 2", st.EveryEpochs)
	}
}

// lastPass reads the time of the last complete cron pass from the
// scheduler's state file (zero if unreadable).
func lastPass(path string) time.Time {
	b, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}
	}
	var st struct {
		LastPass time.Time `json:"last_pass"`
	}
	if json.Unmarshal(b, &st) != nil {
		return time.Time{}
	}
	return st.LastPass
}
