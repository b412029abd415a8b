package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/migrate"
	"github.com/mlsbackup/mlsbackup/internal/testenv"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// TestRekeyKilledAndRerun rekeys a filled prefix (a directory, then
// MinIO) with the rekey process killed after each of its progress lines
// (rekey phase, then retire phase) and at random times, the rerun killed
// again at a random point, then rerun to completion. Right after each
// kill, verify --all with the old and the new identity together accepts
// the prefix and every (group, epoch, plaintext digest) is still there;
// the lease is the agent's (not taken yet) or the rekey's, which the
// rerun takes back without --take-over. At the end verify --all with the
// new identity passes on exactly the original snapshots (so the originals
// are retired: the old identity cannot read what the new recipients
// can, migrate.CheckRecipients), and the lease is released.
func TestRekeyKilledAndRerun(t *testing.T) {
	rng, srv, bin := killSetup(t)
	for _, s3 := range []*testenv.Server{nil, srv} {
		name := "dir"
		if s3 != nil {
			name = "MinIO"
		}
		t.Run(name, func(t *testing.T) {
			c := newRekeyCampaign(t, bin, s3)
			ref := runAimed(t, bin, never, c.args(c.newPrefix(), true)...)
			if ref.code != 0 || ref.lines != 2*c.total {
				t.Fatalf("uninterrupted rekey: %s", ref)
			}
			step := ref.took / time.Duration(ref.lines)
			for _, a := range aims(rng, ref, 3) {
				c.k.aims++
				cfg := c.newPrefix()
				r := runAimed(t, bin, a, c.args(cfg, true)...)
				c.k.count(t, a, r, false)
				c.afterRun(cfg, fmt.Sprintf("rekey (aim %v)", a), r)
				ra := rerunAim(rng, 2*c.total, step)
				r = runAimed(t, bin, ra, c.args(cfg, c.rerunTakeOver(cfg))...)
				c.k.reruns++
				c.k.count(t, ra, r, true)
				c.afterRun(cfg, fmt.Sprintf("rekey (aim %v), rerun (aim %v)", a, ra), r)
				last := runAimed(t, bin, never, c.args(cfg, c.rerunTakeOver(cfg))...)
				c.k.reruns++
				c.afterRun(cfg, fmt.Sprintf("rekey (aim %v), rerun (aim %v), last rerun", a, ra), last)
				c.checkRekeyed(cfg)
			}
			c.k.log(t, "rekey "+name)
		})
	}
}

// rekeyCampaign is the state of one destination's rekey campaign.
type rekeyCampaign struct {
	t        *testing.T
	bin, dir string
	s3       *testenv.Server
	old, new string // key file bases
	signer   uploader.Signer
	both     string                  // identity file with the old and the new identity
	wants    map[string]map[snap]int // per configuration: what it was filled with
	total    int
	n        int
	k        killTally
}

func newRekeyCampaign(t *testing.T, bin string, s3 *testenv.Server) *rekeyCampaign {
	t.Helper()
	c := &rekeyCampaign{t: t, bin: bin, dir: t.TempDir(), s3: s3, total: killGroups * killEpochs, wants: map[string]map[snap]int{}}
	c.old, c.signer = keyFiles(t, c.dir, "old")
	c.new, _ = keyFiles(t, c.dir, "new")
	c.both = filepath.Join(c.dir, "both.id")
	var both []byte
	for _, f := range []string{c.old + ".id", c.new + ".id"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		both = append(both, b...)
	}
	if err := os.WriteFile(c.both, both, 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// newPrefix writes the agent's configuration of a new prefix, fills it
// and returns the configuration's path.
func (c *rekeyCampaign) newPrefix() string {
	c.t.Helper()
	c.n++
	path := filepath.Join(c.dir, fmt.Sprintf("agent%d.yaml", c.n))
	writeConfig(c.t, path, fmt.Sprintf("prod/%d", c.n), filepath.Join(c.dir, "bucket"), c.s3, c.old+".rcp", c.old+".sk")
	fillConfig(c.t, path)
	got, _ := snapshots(c.t, prefixView(c.t, path, c.signer))
	if len(got) != c.total {
		c.t.Fatalf("filled %d snapshots, want %d", len(got), c.total)
	}
	c.wants[path] = got
	return path
}

func (c *rekeyCampaign) args(cfg string, takeOver bool) []string {
	args := []string{"--config", cfg, "rekey", "--identity", c.old + ".id", "--to-recipients", c.new + ".rcp"}
	if takeOver {
		args = append(args, "--take-over")
	}
	return args
}

// rerunTakeOver says whether a rerun needs --take-over: only if the
// killed run did not take the agent's lease yet. A lease of the rekey
// itself, left by the kill, the rerun takes back as its own.
func (c *rekeyCampaign) rerunTakeOver(cfg string) bool {
	c.t.Helper()
	switch h := leaseHolder(c.t, prefixView(c.t, cfg, c.signer)); h {
	case "": // the run released it (killed after its release, or finished)
		return false
	case "alice":
		return true
	case migrate.LeaseID("alice", "rekey"):
		c.k.staleLeases++
		return false
	default:
		c.t.Fatalf("%s: the lease is held by %q after a killed rekey", cfg, h)
		return false
	}
}

// afterRun checks the prefix of cfg after run r: a run not killed
// succeeded; verify --all with both identities passes; no snapshot of
// the prefix is lost.
func (c *rekeyCampaign) afterRun(cfg, what string, r procRun) {
	c.t.Helper()
	if !r.killed && r.code != 0 {
		c.t.Fatalf("%s: %s", what, r)
	}
	v := runAimed(c.t, c.bin, never, "--config", cfg, "verify", "--all", "--identity", c.both)
	if v.code != 0 {
		c.t.Fatalf("%s, then verify --all with both identities: %s", what, v)
	}
	got, _ := snapshots(c.t, prefixView(c.t, cfg, c.signer))
	c.k.checked += len(c.wants[cfg])
	if l := lost(c.wants[cfg], got); len(l) > 0 {
		c.k.lost += len(l)
		c.t.Fatalf("%s: %d snapshots lost: %v", what, len(l), l)
	}
}

var verifiedLine = regexp.MustCompile(`\b(\d+) snapshots verified`)

// checkRekeyed checks the prefix of cfg after the last rerun: verify
// --all with the new identity passes on as many snapshots as were filled,
// each a snapshot of before, and the lease is released.
func (c *rekeyCampaign) checkRekeyed(cfg string) {
	c.t.Helper()
	out := mustComplete(c.t, c.bin, "--config", cfg, "verify", "--all", "--identity", c.new+".id")
	if m := verifiedLine.FindStringSubmatch(out); m == nil || atoi(m[1]) != c.total {
		c.t.Errorf("%s: verify --all with the new identity: %s", cfg, out)
	}
	view := prefixView(c.t, cfg, c.signer)
	got, ms := snapshots(c.t, view)
	c.k.checked += len(c.wants[cfg])
	if l := lost(c.wants[cfg], got); len(l) > 0 {
		c.k.lost += len(l)
		c.t.Errorf("%s: %d snapshots lost: %v", cfg, len(l), l)
	}
	if len(ms) != c.total {
		c.t.Errorf("%s: %d snapshots after the rekey, want %d (one replacement per original)", cfg, len(ms), c.total)
	}
	if h := leaseHolder(c.t, view); h != "" {
		c.t.Errorf("%s: lease still held by %q after the rekey finished", cfg, h)
	}
}
