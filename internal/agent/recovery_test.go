package agent

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/localstore"
)

// TestRecoveryReported: what recovery found at start is in the status and
// the metrics, and a pending input left by another tool is dropped.
func TestRecoveryReported(t *testing.T) {
	ctx := ctxT(t)
	dir := filepath.Join(shortTempDir(t), "data")
	st, _, err := localstore.Open(context.Background(), fsx.OS{}, dir, localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Begin(ctx, "Receive", []byte("an incoming message")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Begin(ctx, "SelfUpdate", nil); err != nil {
		t.Fatal(err)
	}
	if err := st.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	ta := newTestAgent(t, agentOpts{dataDir: dir})
	s, err := ta.c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Recovery.PendingInputs != 1 || s.Recovery.Dropped != 1 {
		t.Errorf("recovery status = %+v, want 1 pending input and 1 dropped operation", s.Recovery)
	}
	m, err := ta.c.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`mlsbackup_recovery_events_total{kind="pending_input"} 1`, `mlsbackup_recovery_events_total{kind="dropped"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// The dropped input does not come back on the next start.
	ta.stop()
	ta2 := newTestAgent(t, agentOpts{dataDir: dir, store: ta.store, ageID: ta.id})
	if s, err := ta2.c.Status(ctx); err != nil || s.Recovery.PendingInputs != 0 {
		t.Errorf("second start: recovery %+v, %v; want no pending input", s.Recovery, err)
	}
}
