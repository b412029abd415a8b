package uploader_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/atomicfile"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/dirstore"
)

// TestPruneRemovesTempFilesOfKilledWrites: an upload to a local directory
// killed in the middle of writing an object left its .tmp-* file, and
// nothing ever removed it. Prune now removes the temporary files nothing
// has written to for Retention.OrphanAge, lists them in a dry run, and
// leaves a recent one alone (its writer may be alive).
func TestPruneRemovesTempFilesOfKilledWrites(t *testing.T) {
	k := newKeyPair(t)
	meta := uploader.SnapshotMeta{GroupID: []byte("g"), Epoch: 1, Size: 3 << 10}
	data := bytes.Repeat([]byte("snap"), 3<<8)
	// upload writes one snapshot through fsys into a new bucket under
	// dir, and returns the bucket's root.
	upload := func(dir string, fsys fsx.FS) (string, error) {
		root := filepath.Join(dir, "bucket")
		st, err := dirstore.NewFS(fsys, root)
		if err != nil {
			t.Fatal(err)
		}
		_, err = newBackup(t, st, k, "a").Upload(t.Context(), meta, bytes.NewReader(data))
		return root, err
	}
	// The first write into the snapshot's temporary file, counted in a
	// clean run.
	var firstWrite int64
	probe := fsx.NewFaulty(fsx.OS{}, fsx.FaultyOptions{Before: func(n int64, op fsx.Op, path string, _ []byte) {
		name := filepath.Base(path)
		if firstWrite == 0 && op == fsx.OpWrite && atomicfile.IsTemp(name) && strings.Contains(name, "snapshot") {
			firstWrite = n
		}
	}})
	if _, err := upload(t.TempDir(), probe); err != nil || firstWrite == 0 {
		t.Fatalf("clean upload: %v (first temporary write at op %d)", err, firstWrite)
	}
	// The same upload, killed at that write: the process stops there, so
	// nothing cleans up after it.
	killed := fsx.NewFaulty(fsx.OS{}, fsx.FaultyOptions{FailAt: firstWrite, Torn: true})
	root, err := upload(t.TempDir(), killed)
	if !errors.Is(err, fsx.ErrCrashed) || killed.CrashOp() != fsx.OpWrite {
		t.Fatalf("killed upload: %v at %v, want a crash at a write", err, killed.CrashOp())
	}
	temps := tempFiles(t, root)
	if len(temps) != 1 {
		t.Fatalf("the killed write left %v, want one temporary file", temps)
	}

	st, err := dirstore.New(root)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	b := newBackup(t, st, k, "a", func(o *uploader.Options) { o.Now = func() time.Time { return now } })
	if _, err := b.Upload(t.Context(), meta, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	r := uploader.Retention{KeepLast: 1}
	rep, err := b.Prune(t.Context(), r, false)
	if err != nil || len(rep.StaleTemps) != 0 || len(tempFiles(t, root)) != 1 {
		t.Fatalf("prune right after the kill: %v, reported %v; want the recent file left alone", err, rep.StaleTemps)
	}
	now = now.Add(uploader.DefaultOrphanAge + time.Minute)
	want := strings.TrimPrefix(filepath.ToSlash(temps[0]), filepath.ToSlash(root)+"/")
	rep, err = b.Prune(t.Context(), r, true)
	if err != nil || len(rep.StaleTemps) != 1 || rep.StaleTemps[0] != want || len(tempFiles(t, root)) != 1 {
		t.Fatalf("dry run a day later: %v, reported %v (want [%s]); the file must stay", err, rep.StaleTemps, want)
	}
	rep, err = b.Prune(t.Context(), r, false)
	if err != nil || len(rep.StaleTemps) != 1 || rep.StaleTemps[0] != want {
		t.Fatalf("prune a day later: %v, reported %v, want [%s]", err, rep.StaleTemps, want)
	}
	if left := tempFiles(t, root); len(left) != 0 {
		t.Fatalf("prune left %v", left)
	}
	if ms, err := b.List(t.Context(), nil); err != nil || len(ms) != 1 {
		t.Fatalf("after prune: %d snapshots (%v), want the one uploaded", len(ms), err)
	}
}

// tempFiles lists the temporary files below root.
func tempFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if err == nil && atomicfile.IsTemp(e.Name()) {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
