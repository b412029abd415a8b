package agent

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMetricsDocumented keeps docs/metrics.md and docs/grafana-dashboard.json
// current: every metric the agent registers is documented, and every
// metric the documentation or the dashboard names is registered.
func TestMetricsDocumented(t *testing.T) {
	ctx := ctxT(t)
	ta := newTestAgent(t, agentOpts{})
	// Labelled metrics are gathered once they have a value: upload one
	// snapshot.
	gid := []byte("metrics-doc")
	if _, err := ta.c.Create(ctx, CreateRequest{GroupID: hexEncode(gid)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ta.c.Snapshot(ctx, gid); err != nil {
		t.Fatal(err)
	}
	mfs, err := ta.a.metrics.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	registered := map[string]bool{}
	for _, mf := range mfs {
		registered[mf.GetName()] = true
	}
	root := filepath.Join("..", "..", "docs")
	doc, err := os.ReadFile(filepath.Join(root, "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	dash, err := os.ReadFile(filepath.Join(root, "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(dash, &d); err != nil || len(d.Panels) == 0 {
		t.Fatalf("grafana-dashboard.json: %v, %d panels", err, len(d.Panels))
	}
	for name := range registered {
		if !strings.Contains(string(doc), "`"+name) {
			t.Errorf("docs/metrics.md does not document %s", name)
		}
	}
	name := regexp.MustCompile(`mlsbackup_[a-z_]+`)
	base := func(n string) string {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(n, suffix); ok && registered[b] {
				return b
			}
		}
		return n
	}
	for _, n := range name.FindAllString(string(doc), -1) {
		if !registered[base(n)] {
			t.Errorf("docs/metrics.md names %s, which the agent does not export", n)
		}
	}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			for _, n := range name.FindAllString(tg.Expr, -1) {
				if !registered[base(n)] {
					t.Errorf("dashboard panel %q uses %s, which the agent does not export", p.Title, n)
				}
			}
		}
	}
}
