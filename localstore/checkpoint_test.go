package localstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

// deferredOpts make the applier write files at once but never checkpoint
// by itself, so that a test controls the deferred-fsync window.
var deferredOpts = Options{EpochRetention: 2, ApplyDelay: -1, CheckpointInterval: time.Hour, CheckpointBytes: 1 << 40}

// applyDeferred commits a few batches over three groups (overwrites, new
// files, retention deletes, an explicit delete), runs an applier round
// without checkpoint and returns the expected Dump.
func applyDeferred(t *testing.T, s *Store) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	for i := range 5 {
		for g := range 3 {
			gid := fmt.Sprint("group-", g)
			b := &engine.Batch{Op: "Commit", Group: []byte(gid), Puts: []engine.Put{
				put(gid, engine.KindState, "context", fmt.Sprintf("context %d of %d", i, g)),
				put(gid, engine.KindEpochSecrets, fmt.Sprintf("epoch_%d.bin", i), fmt.Sprintf("secret %d of %d", i, g)),
				put(gid, engine.KindKeys, fmt.Sprint("leaf_", i), "leaf key"),
			}}
			if i > 0 {
				b.Deletes = []engine.Key{key(gid, engine.KindKeys, fmt.Sprint("leaf_", i-1))}
			}
			must(t, s.Apply(ctx, b))
		}
	}
	must(t, s.flush(ctx, false))
	want, err := s.Dump(ctx)
	must(t, err)
	if len(want) != 3*4 {
		t.Fatalf("dump has %d components, want 12: %v", len(want), want)
	}
	return want
}

// TestDeferredFsyncWindow crashes after the applier replaced the component
// files without fsync and before a checkpoint: recovery must replay the
// log over whatever the crash left of them, and never read them first.
func TestDeferredFsyncWindow(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mode    fsx.CrashMode
		garbage bool // overwrite every component file with junk after the crash
	}{
		{"power loss", fsx.PowerLoss, false},
		{"process kill", fsx.ProcessKill, false},
		{"torn component files", fsx.ProcessKill, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			m := fsx.NewMem()
			s, _ := openT(t, m, "/data", deferredOpts)
			want := applyDeferred(t, s)
			newest := s.compPath(key("group-0", engine.KindEpochSecrets, "epoch_4.bin"))
			if _, err := m.ReadFile(newest); err != nil {
				t.Fatalf("applier did not write %s: %v", newest, err)
			}
			crashed := m.Clone()
			must(t, s.Close())
			crashed.Crash(tc.mode)
			if _, err := crashed.ReadFile(newest); tc.mode == fsx.PowerLoss && !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("after power loss %s: %v, want it lost (written without fsync)", newest, err)
			}
			if tc.garbage {
				corruptComponents(t, crashed)
			}
			s2, rep := openT(t, crashed, "/data", deferredOpts)
			defer s2.Close()
			if len(rep.Replayed) != 15 {
				t.Fatalf("replayed %d batches, want all 15 (none was checkpointed)", len(rep.Replayed))
			}
			got, err := s2.Dump(ctx)
			must(t, err)
			if !maps.EqualFunc(got, want, func(a, b []byte) bool { return string(a) == string(b) }) {
				t.Fatalf("after crash and recovery:\n got %q\nwant %q", got, want)
			}
		})
	}
}

// corruptComponents overwrites every component file under /data/mls with
// bytes that fail the frame check.
func corruptComponents(t *testing.T, m *fsx.Mem) {
	t.Helper()
	var walk func(dir string)
	walk = func(dir string) {
		ents, err := m.ReadDir(dir)
		must(t, err)
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			if e.IsDir() {
				walk(p)
				continue
			}
			f, err := m.OpenFile(p, 1 /* O_WRONLY */, filePerm)
			must(t, err)
			_, err = f.Write([]byte("torn"))
			must(t, err)
			must(t, f.Close())
		}
	}
	walk("/data/mls")
}

// TestCrashDuringCheckpointSync crashes (power loss) before every file
// operation of a checkpoint — each component fsync, each directory fsync,
// the log's Applied record and segment switch — and checks that recovery
// gives the committed state each time.
func TestCrashDuringCheckpointSync(t *testing.T) {
	ctx := context.Background()
	m := fsx.NewMem()
	var (
		armed     atomic.Bool
		mu        sync.Mutex
		snaps     []*fsx.Mem
		fileSyncs int
	)
	faulty := fsx.NewFaulty(m, fsx.FaultyOptions{Before: func(_ int64, op fsx.Op, path string, _ []byte) {
		if !armed.Load() {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if op == fsx.OpSync && strings.Contains(path, "/mls/") {
			fileSyncs++
		}
		c := m.Clone()
		c.Crash(fsx.PowerLoss)
		snaps = append(snaps, c)
	}})
	s, _ := openT(t, faulty, "/data", deferredOpts)
	want := applyDeferred(t, s)
	armed.Store(true)
	must(t, s.Flush(ctx))
	armed.Store(false)
	must(t, s.Close())
	if fileSyncs < len(want) {
		t.Fatalf("checkpoint fsynced %d component files, want at least %d", fileSyncs, len(want))
	}
	for i, c := range append(snaps, m) {
		s2, _, err := Open(ctx, c, "/data", deferredOpts)
		if err != nil {
			t.Fatalf("crash point %d of %d: reopen: %v", i+1, len(snaps), err)
		}
		got, err := s2.Dump(ctx)
		must(t, err)
		if !maps.EqualFunc(got, want, func(a, b []byte) bool { return string(a) == string(b) }) {
			t.Fatalf("crash point %d of %d:\n got %q\nwant %q", i+1, len(snaps), got, want)
		}
		must(t, s2.Close())
	}
	t.Logf("%d crash points in the checkpoint (%d component fsyncs)", len(snaps), fileSyncs)
}

// TestRecoveryFsyncsDirectoryOfExistingFile: a process dies after creating
// a component file but before fsyncing its directory; the next process
// replays the batch over the existing file, checkpoints and then loses
// power. The file's directory entry must have been made durable by that
// checkpoint, or the file is gone while its batch is no longer in the log.
func TestRecoveryFsyncsDirectoryOfExistingFile(t *testing.T) {
	ctx := context.Background()
	m := fsx.NewMem()
	s, _ := openT(t, m, "/data", deferredOpts)
	want := applyDeferred(t, s)
	killed := m.Clone()
	must(t, s.Close())
	killed.Crash(fsx.ProcessKill)
	s2, rep := openT(t, killed, "/data", deferredOpts)
	if len(rep.Replayed) == 0 {
		t.Fatal("nothing replayed")
	}
	must(t, s2.Close())
	killed.Crash(fsx.PowerLoss)
	s3, rep := openT(t, killed, "/data", deferredOpts)
	defer s3.Close()
	if len(rep.Replayed) != 0 {
		t.Fatalf("replayed %d batches after a clean checkpoint", len(rep.Replayed))
	}
	got, err := s3.Dump(ctx)
	must(t, err)
	if !maps.EqualFunc(got, want, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Fatalf("after kill, recovery and power loss:\n got %q\nwant %q", got, want)
	}
}

// TestForwardSecrecyWithoutFlush: without Flush or Close, the secret of an
// epoch deleted by the retention leaves every file (the log included) once
// the age-triggered checkpoint has run, and the retained ones stay.
func TestForwardSecrecyWithoutFlush(t *testing.T) {
	const retention = 3
	ctx := context.Background()
	dir := t.TempDir()
	s, _ := openT(t, fsx.OS{}, dir, Options{EpochRetention: retention, ApplyDelay: time.Millisecond, CheckpointInterval: 20 * time.Millisecond})
	defer s.Close()
	g := []byte("fs-timer")
	for e := 0; e <= retention; e++ {
		must(t, s.Apply(ctx, &engine.Batch{Op: "Commit", Group: g, Puts: []engine.Put{
			{Key: engine.Key{Group: g, Kind: engine.KindEpochSecrets, Name: fmt.Sprintf("epoch_%d.bin", e)}, Value: epochSecret(e)},
		}}))
	}
	// The applier runs on its own; the deadline only bounds a hang.
	deadline := time.Now().Add(10 * time.Second)
	for len(filesContaining(t, dir, epochSecret(0))) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("epoch 0 secret still in %v long after the checkpoint interval", filesContaining(t, dir, epochSecret(0)))
		}
		time.Sleep(5 * time.Millisecond)
	}
	for e := 1; e <= retention; e++ {
		if hits := filesContaining(t, dir, epochSecret(e)); len(hits) == 0 {
			t.Errorf("retained epoch %d secret is missing", e)
		}
	}
}
