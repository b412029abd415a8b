package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPruneRemovesStaleTempFiles: the .tmp-* files that writes killed
// midway leave in a dir destination are reported by prune (text and
// --json), kept by --dry-run and removed by prune; a recent one, whose
// writer may be alive, is neither reported nor removed.
func TestPruneRemovesStaleTempFiles(t *testing.T) {
	f := newBackupFixture(t)
	groups := filepath.Join(f.bucket, "team", "groups")
	ents, err := os.ReadDir(groups)
	if err != nil || len(ents) == 0 {
		t.Fatalf("groups in the bucket: %v, %v", ents, err)
	}
	stale := filepath.Join(groups, ents[0].Name(), ".tmp-snapshot.age-killed")
	fresh := filepath.Join(groups, ents[0].Name(), ".tmp-manifest.json-inflight")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-25 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	key := "team/groups/" + ents[0].Name() + "/.tmp-snapshot.age-killed"
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }

	code, stdout, stderr := f.run(t, "prune", "--dry-run", "--json")
	var view pruneView
	if code != exitOK || json.Unmarshal([]byte(stdout), &view) != nil || !slices.Equal(view.StaleTemps, []string{key}) {
		t.Fatalf("prune --dry-run --json: exit %d, temp_files_deleted %v, want [%s]\n%s\n%s", code, view.StaleTemps, key, stdout, stderr)
	}
	code, stdout, stderr = f.run(t, "prune", "--dry-run")
	if code != exitOK || !strings.Contains(stdout, "would delete temporary file "+key) || !strings.Contains(stdout, "1 temporary files") {
		t.Fatalf("prune --dry-run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !exists(stale) || !exists(fresh) {
		t.Fatal("the dry run removed a temporary file")
	}
	code, stdout, stderr = f.run(t, "prune")
	if code != exitOK || !strings.Contains(stdout, "deleted temporary file "+key) || strings.Contains(stdout, "inflight") {
		t.Fatalf("prune: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if exists(stale) || !exists(fresh) {
		t.Fatalf("after prune: stale file left %v, recent file kept %v; want false, true", exists(stale), exists(fresh))
	}
}
