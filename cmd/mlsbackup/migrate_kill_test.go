package main

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/internal/migrate"
	"github.com/mlsbackup/mlsbackup/internal/testenv"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// The kill campaign of copy and rekey (issue 17): each is run as a real
// process, killed with SIGKILL after each of its progress lines (plus a
// random delay) and at random times, its rerun killed again at a random
// point, and then rerun to completion. No snapshot may be lost at any
// point, and the end state must be what an uninterrupted run gives.

const killGroups, killEpochs = 3, 3

// killTally counts what a campaign did, for the summary line.
type killTally struct {
	aims, kills, rerunKills, completed, reruns int
	staleLeases, checked, lost                 int
}

func (k *killTally) log(t *testing.T, what string) {
	t.Logf("%s: %d aims, %d kills (+%d kills of a rerun), %d runs ended before their aim, %d reruns, "+
		"%d stale leases of a killed run taken back, %d snapshot checks, %d lost",
		what, k.aims, k.kills, k.rerunKills, k.completed, k.reruns, k.staleLeases, k.checked, k.lost)
}

// count records a run under aim a: killed or completed.
func (k *killTally) count(t *testing.T, a aim, r procRun, rerun bool) {
	t.Helper()
	how := "ended before the kill"
	if r.killed {
		how = "killed"
	}
	what := "run"
	if rerun {
		what = "rerun"
	}
	t.Logf("%s aimed %v: %s after %d progress lines, %v", what, a, how, r.lines, r.took.Round(time.Millisecond))
	switch {
	case r.killed && rerun:
		k.rerunKills++
	case r.killed:
		k.kills++
	default:
		k.completed++
	}
}

// killSetup starts what a kill test needs: the random aims, a MinIO and
// the command. It skips in -short mode.
func killSetup(t *testing.T) (*rand.Rand, *testenv.Server, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts MinIO, runs the command many times")
	}
	return killSeed(t), testenv.MinIO(t), selfAsMlsbackup(t)
}

// writeConfig writes a configuration file at path: a dir destination at
// bucket if s3 is nil, else a prefix of s3's bucket.
func writeConfig(t *testing.T, path, prefix, bucket string, s3 *testenv.Server, rcp, sk string) {
	t.Helper()
	dest := fmt.Sprintf("  type: dir\n  dir: {path: %s}\n", bucket)
	if s3 != nil {
		dest = fmt.Sprintf("  type: s3\n  s3: {bucket: %s, region: %s, endpoint: %s, path_style: true, access_key_id: %s, secret_access_key: %s}\n",
			s3.Bucket, s3.Region, s3.Endpoint, s3.AccessKey, s3.SecretKey)
	}
	doc := fmt.Sprintf("data_dir: %s\nclient_name: alice\ndestination:\n  prefix: %s\n%sencryption:\n  recipients_file: %s\n  signing_key_file: %s\n",
		filepath.Join(filepath.Dir(path), "data"), prefix, dest, rcp, sk)
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
}

// fillConfig fills the destination of the configuration file path.
func fillConfig(t *testing.T, path string) {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := fill(t.Context(), cfg, killGroups, killEpochs); err != nil {
		t.Fatal(err)
	}
}

// keyFiles writes the key files of newKeyFiles under dir.
func keyFiles(t *testing.T, dir, name string) (base string, signer uploader.Signer) {
	t.Helper()
	base = filepath.Join(dir, name)
	signer, err := newKeyFiles(base)
	if err != nil {
		t.Fatal(err)
	}
	return base, signer
}

var copiedLine = regexp.MustCompile(`copied (\d+) snapshots to .*, (\d+) were there already, 0 not copied`)

// TestCopyKilledAndRerun copies a directory destination to MinIO with the
// copy process killed after each snapshot and at random times, the rerun
// killed again, then rerun to completion: the target then verifies with
// the identity, holds every source snapshot (group, epoch, plaintext
// digest) and restores; the source is byte for byte as before; the lease
// a killed copy left is taken back by the rerun and released at the end.
func TestCopyKilledAndRerun(t *testing.T) {
	rng, srv, bin := killSetup(t)
	dir := t.TempDir()
	alice, aliceSigner := keyFiles(t, dir, "alice")
	target, targetSigner := keyFiles(t, dir, "target")
	srcBucket := filepath.Join(dir, "bucket")
	src := filepath.Join(dir, "src.yaml")
	writeConfig(t, src, "prod/alice", srcBucket, nil, alice+".rcp", alice+".sk")
	fillConfig(t, src)
	before := testenv.Tree(t, srcBucket)
	want, _ := snapshots(t, prefixView(t, src, aliceSigner))
	total := killGroups * killEpochs
	if len(want) != total {
		t.Fatalf("the source holds %d snapshots, want %d", len(want), total)
	}

	run := 0
	newTarget := func() string {
		run++
		path := filepath.Join(dir, fmt.Sprintf("target%d.yaml", run))
		writeConfig(t, path, fmt.Sprintf("moved/%d", run), "", srv, alice+".rcp", target+".sk")
		return path
	}
	copyArgs := func(to string) []string {
		return []string{"--config", src, "copy", "--to", to, "--identity", alice + ".id"}
	}
	// An uninterrupted copy, to time the steps.
	ref := runAimed(t, bin, never, copyArgs(newTarget())...)
	if ref.code != 0 || ref.lines != total {
		t.Fatalf("uninterrupted copy: %s", ref)
	}
	step := ref.took / time.Duration(total)

	var k killTally
	for _, a := range aims(rng, ref, 3) {
		k.aims++
		to := newTarget()
		r := runAimed(t, bin, a, copyArgs(to)...)
		k.count(t, a, r, false)
		if !r.killed && r.code != 0 {
			t.Fatalf("copy (aim %v): %s", a, r)
		}
		// A rerun, killed at a random point, then one to completion.
		ra := rerunAim(rng, total, step)
		k.count(t, ra, copyRerun(t, bin, to, ra, copyArgs(to), &k, targetSigner), true)
		last := copyRerun(t, bin, to, never, copyArgs(to), &k, targetSigner)
		m := copiedLine.FindStringSubmatch(last.stdout)
		if last.code != 0 || m == nil {
			t.Fatalf("copy (aim %v, rerun aim %v), last rerun: %s", a, ra, last)
		}
		if c, p := atoi(m[1]), atoi(m[2]); c+p != total {
			t.Errorf("copy (aim %v, rerun aim %v): the last rerun copied %d and found %d, want %d in all", a, ra, c, p, total)
		}
		k.checked += checkCopied(t, bin, to, alice+".id", want, &k, targetSigner)
		if got := testenv.Tree(t, srcBucket); !maps.Equal(before, got) {
			t.Fatalf("copy (aim %v): the source changed", a)
		}
	}
	k.log(t, "copy dir → MinIO")
}

// copyRerun reruns a copy under aim a; a copy that is not killed must
// succeed. Before it, a lease left at the target by a killed copy must
// name the copy, and the rerun takes it back without --take-over.
func copyRerun(t *testing.T, bin, to string, a aim, args []string, k *killTally, signers ...uploader.Signer) procRun {
	t.Helper()
	switch h := leaseHolder(t, prefixView(t, to, signers...)); h {
	case "":
	case migrate.LeaseID("alice", "copy"):
		k.staleLeases++
	default:
		t.Fatalf("the target's lease is held by %q after a killed copy", h)
	}
	k.reruns++
	r := runAimed(t, bin, a, args...)
	if !r.killed && r.code != 0 {
		t.Fatalf("copy rerun (aim %v): %s", a, r)
	}
	return r
}

// checkCopied checks the target of a finished copy: verify --all with the
// identity passes, every snapshot of want is there, restore --all works,
// the lease is released. It returns the snapshots checked.
func checkCopied(t *testing.T, bin, to, identity string, want map[snap]int, k *killTally, signers ...uploader.Signer) int {
	t.Helper()
	out := mustComplete(t, bin, "--config", to, "verify", "--all", "--identity", identity)
	if !regexp.MustCompile(fmt.Sprintf(`\b%d snapshots verified`, len(want))).MatchString(out) {
		t.Errorf("verify --all at %s: %s", to, out)
	}
	view := prefixView(t, to, signers...)
	got, _ := snapshots(t, view)
	if l := lost(want, got); len(l) > 0 {
		k.lost += len(l)
		t.Errorf("%s lacks %d snapshots of the source: %v", to, len(l), l)
	}
	if len(got) != len(want) {
		t.Errorf("%s holds %d snapshots, want %d", to, len(got), len(want))
	}
	if h := leaseHolder(t, view); h != "" {
		t.Errorf("%s: lease still held by %q after the copy finished", to, h)
	}
	mustComplete(t, bin, "--config", to, "--data-dir", filepath.Join(t.TempDir(), "restored"), "restore", "--all", "--identity", identity)
	return len(want)
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
