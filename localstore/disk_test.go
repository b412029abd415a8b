package localstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/wal"
)

// filesContaining lists the files under dir whose bytes contain needle.
func filesContaining(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var hits []string
	must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed by a checkpoint running meanwhile
		}
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if bytes.Contains(b, needle) {
			hits = append(hits, p)
		}
		return nil
	}))
	return hits
}

func epochSecret(e int) []byte {
	return []byte(fmt.Sprintf("SECRET-OF-EPOCH-%04d-xxxxxxxxxxxxxxxx", e))
}

func TestForwardSecrecyOnDisk(t *testing.T) {
	const retention = 4
	for _, syncApply := range []bool{false, true} {
		t.Run(fmt.Sprintf("sync=%v", syncApply), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			s, _ := openT(t, fsx.OS{}, dir, Options{EpochRetention: retention, SnapshotsKept: 2, SyncApply: syncApply})
			defer s.Close()
			g := []byte("fs-group")
			for e := 0; e <= retention; e++ {
				must(t, s.Apply(ctx, &engine.Batch{Op: "Commit", Group: g, Puts: []engine.Put{
					{Key: engine.Key{Group: g, Kind: engine.KindEpochSecrets, Name: fmt.Sprintf("epoch_%d.bin", e)}, Value: epochSecret(e)},
					{Key: engine.Key{Group: g, Kind: engine.KindState, Name: "context"}, Value: []byte(fmt.Sprint("epoch ", e))},
				}}))
				// A local snapshot of every epoch carries that epoch's secret.
				must(t, s.SaveSnapshot(ctx, g, uint64(e), append([]byte("snapshot:"), epochSecret(e)...)))
				must(t, s.Flush(ctx))
				if e < retention {
					if hits := filesContaining(t, dir, epochSecret(0)); len(hits) == 0 {
						t.Fatalf("epoch 0 secret gone after %d epochs, retention is %d", e+1, retention)
					}
				}
			}
			if hits := filesContaining(t, dir, epochSecret(0)); len(hits) != 0 {
				t.Fatalf("after %d epochs the oldest epoch's secret is still in %v", retention+1, hits)
			}
			for e := 1; e <= retention; e++ {
				if hits := filesContaining(t, dir, epochSecret(e)); len(hits) == 0 {
					t.Errorf("retained epoch %d secret is missing", e)
				}
			}
		})
	}
}

func TestWALDamageThroughStore(t *testing.T) {
	ctx := context.Background()
	build := func(t *testing.T) (string, string) {
		dir := t.TempDir()
		s, _ := openT(t, fsx.OS{}, dir, Options{})
		// Fill the active segment with committed batches without applying them:
		// a crash before the applier ran leaves exactly this.
		for i := range 3 {
			id, err := s.log.Begin(ctx, "Op", nil, false)
			must(t, err)
			b := &engine.Batch{Op: "Op", Puts: []engine.Put{{Key: engine.Key{Group: []byte("g"), Kind: engine.KindState, Name: fmt.Sprint("c", i)}, Value: []byte("value")}}}
			must(t, s.log.Commit(ctx, id, encodeBatch(b)))
		}
		segs, _ := os.ReadDir(filepath.Join(dir, "wal"))
		seg := filepath.Join(dir, "wal", segs[len(segs)-1].Name())
		// Abandon s (no Close): a crash.
		must(t, s.lock.Close())
		return dir, seg
	}
	t.Run("torn tail repaired", func(t *testing.T) {
		dir, seg := build(t)
		b, _ := os.ReadFile(seg)
		must(t, os.WriteFile(seg, b[:len(b)-5], 0o600))
		s, rep := openT(t, fsx.OS{}, dir, Options{})
		defer s.Close()
		if rep.TornTail == nil || len(rep.Replayed) != 2 {
			t.Fatalf("report %+v: want a torn-tail repair and 2 replayed", rep)
		}
		names, _ := s.List(ctx, []byte("g"), engine.KindState)
		if !reflect.DeepEqual(names, []string{"c0", "c1"}) {
			t.Fatalf("components %v, want [c0 c1]", names)
		}
	})
	t.Run("bit flip in middle refused", func(t *testing.T) {
		dir, seg := build(t)
		b, _ := os.ReadFile(seg)
		b[60] ^= 0x10
		must(t, os.WriteFile(seg, b, 0o600))
		_, _, err := Open(ctx, fsx.OS{}, dir, Options{})
		var ce *wal.CorruptError
		if !errors.As(err, &ce) || ce.File != seg {
			t.Fatalf("err = %v, want wal.CorruptError naming %s", err, seg)
		}
		after, _ := os.ReadFile(seg)
		if !bytes.Equal(after, b) {
			t.Fatal("corrupt segment was modified")
		}
		if _, err := os.Stat(filepath.Join(dir, "mls", "groups", "67")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatal("a refused log was partly applied")
		}
	})
}

func TestSnapshots(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, _ := openT(t, fsx.OS{}, dir, Options{SnapshotsKept: 3})
	defer s.Close()
	g := []byte("snap")
	if _, _, err := s.LatestSnapshot(ctx, g); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("empty: %v, want ErrNoSnapshot", err)
	}
	must(t, s.SaveSnapshot(ctx, g, 1, []byte("snapshot of a group not stored")))
	if epochs, err := s.ListSnapshots(ctx, g); err != nil || len(epochs) != 0 {
		t.Fatalf("snapshot of a group not stored: kept %v, %v; want none", epochs, err)
	}
	for e := uint64(1); e <= 5; e++ {
		enterEpoch(t, s, g, e)
		must(t, s.SaveSnapshot(ctx, g, e, []byte(fmt.Sprint("snapshot at ", e))))
		must(t, s.SaveSnapshot(ctx, g, e-1, []byte("snapshot of an epoch the group left")))
	}
	must(t, s.Flush(ctx))
	epochs, err := s.ListSnapshots(ctx, g)
	must(t, err)
	if want := []uint64{5}; !reflect.DeepEqual(epochs, want) {
		t.Fatalf("kept %v, want %v", epochs, want)
	}
	e, data, err := s.LatestSnapshot(ctx, g)
	must(t, err)
	if e != 5 || string(data) != "snapshot at 5" {
		t.Fatalf("latest = %d %q", e, data)
	}
	data, err = s.LoadSnapshot(ctx, g, 5)
	must(t, err)
	if string(data) != "snapshot at 5" {
		t.Fatalf("epoch 5 = %q", data)
	}
	// A bit flip anywhere is detected and the file is named.
	path := filepath.Join(dir, "mls", "groups", fmt.Sprintf("%x", g), "snapshots", "latest.snapshot")
	orig, _ := os.ReadFile(path)
	for i := range orig {
		b := bytes.Clone(orig)
		b[i] ^= 0x01
		must(t, os.WriteFile(path, b, 0o600))
		_, _, err := s.LatestSnapshot(ctx, g)
		var ce *CorruptFileError
		if !errors.As(err, &ce) || ce.Path != path {
			t.Fatalf("flip at %d: err = %v, want CorruptFileError naming %s", i, err, path)
		}
	}
}

func TestReplaceGroupAndPendingInputs(t *testing.T) {
	ctx := context.Background()
	m := fsx.NewMem()
	s, _ := openT(t, m, "/data", Options{SyncApply: true})
	g := []byte("rg")
	k := func(n string) engine.Key { return engine.Key{Group: g, Kind: engine.KindState, Name: n} }
	must(t, s.Apply(ctx, &engine.Batch{Op: "Create", Puts: []engine.Put{{Key: k("a"), Value: []byte("1")}, {Key: k("b"), Value: []byte("1")}}}))
	must(t, s.ReplaceGroup(ctx, g, []engine.Put{{Key: k("b"), Value: []byte("2")}, {Key: k("c"), Value: []byte("2")}}))
	comps, err := s.GroupComponents(ctx, g)
	must(t, err)
	var got []string
	for _, c := range comps {
		got = append(got, c.Key.Name+"="+string(c.Value))
	}
	if want := []string{"b=2", "c=2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after replace: %v, want %v", got, want)
	}
	if err := s.ReplaceGroup(ctx, g, []engine.Put{{Key: engine.Key{Group: []byte("other"), Kind: engine.KindState, Name: "x"}}}); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("foreign component: %v, want ErrInvalidKey", err)
	}
	// An incoming message logged by Begin survives a crash before its batch.
	_, err = s.Begin(ctx, "ProcessMessage", []byte("incoming ciphertext"))
	must(t, err)
	_, err = s.Begin(ctx, "SelfUpdate", nil)
	must(t, err)
	must(t, s.Sync(ctx))
	m.Crash(fsx.PowerLoss)
	s2, rep := openT(t, m, "/data", Options{})
	defer s2.Close()
	if len(rep.PendingInputs) != 1 || string(rep.PendingInputs[0].Input) != "incoming ciphertext" || rep.PendingInputs[0].Kind != "ProcessMessage" {
		t.Fatalf("pending inputs %+v, want the incoming message", rep.PendingInputs)
	}
	if len(rep.Dropped) != 1 || rep.Dropped[0].Op != "SelfUpdate" {
		t.Fatalf("dropped %+v, want the SelfUpdate", rep.Dropped)
	}
	must(t, s2.DropPending(ctx, rep.PendingInputs[0].ID))
	if err := s2.DropPending(ctx, rep.PendingInputs[0].ID); err == nil || !strings.Contains(err.Error(), "unknown") {
		t.Fatalf("second drop: %v, want unknown operation", err)
	}
}

// enterEpoch applies the batch that moves group g to epoch e: its epoch
// record and its context.
func enterEpoch(t *testing.T, s *Store, g []byte, e uint64) {
	t.Helper()
	must(t, s.Apply(context.Background(), &engine.Batch{Op: "Commit", Group: g, Puts: []engine.Put{
		{Key: engine.Key{Group: g, Kind: engine.KindEpochSecrets, Name: fmt.Sprintf("epoch_%d.bin", e)}, Value: epochSecret(int(e))},
		{Key: engine.Key{Group: g, Kind: engine.KindState, Name: "context"}, Value: []byte(fmt.Sprint("epoch ", e))},
	}}))
}
