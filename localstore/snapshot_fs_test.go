package localstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

// snapshotSecret stands for what only a local snapshot of epoch e holds
// once the group has left e: e's init and exporter secrets, the private
// keys a later commit replaced.
func snapshotSecret(e uint64) []byte {
	return []byte(fmt.Sprintf("ONLY-IN-THE-SNAPSHOT-OF-EPOCH-%04d", e))
}

// TestLocalSnapshotsDoNotOutliveRetention is issue 18's second defect: a
// local snapshot file of epoch N kept N's secrets until N itself left the
// retention, although the group deletes some of them (N's init secret,
// replaced keys, the oldest retained epoch) as soon as it leaves N. A
// local snapshot now lives only while its epoch is the group's current
// one: it is gone once the batch that leaves the epoch is applied (a
// Flush), and at the next Open if the process died before that.
func TestLocalSnapshotsDoNotOutliveRetention(t *testing.T) {
	ctx := context.Background()
	t.Run("applied", func(t *testing.T) {
		dir := t.TempDir()
		s, _ := openT(t, fsx.OS{}, dir, Options{EpochRetention: 4, SnapshotsKept: 5})
		defer s.Close()
		g := []byte("retained")
		for e := uint64(0); e < 8; e++ {
			enterEpoch(t, s, g, e)
			must(t, s.Flush(ctx))
			if e > 0 {
				if hits := filesContaining(t, dir, snapshotSecret(e-1)); len(hits) != 0 {
					t.Fatalf("epoch %d: the snapshot of epoch %d is still in %v", e, e-1, hits)
				}
			}
			must(t, s.SaveSnapshot(ctx, g, e, snapshotSecret(e)))
			if hits := filesContaining(t, dir, snapshotSecret(e)); len(hits) != 2 {
				t.Fatalf("epoch %d: the current epoch's snapshot is in %v, want epoch_%d.snapshot and latest.snapshot", e, hits, e)
			}
		}
	})
	t.Run("crash before the applier", func(t *testing.T) {
		m := fsx.NewMem()
		s, _ := openT(t, m, "/data", Options{EpochRetention: 4})
		g := []byte("crashed")
		enterEpoch(t, s, g, 1)
		must(t, s.Flush(ctx))
		must(t, s.SaveSnapshot(ctx, g, 1, snapshotSecret(1)))
		enterEpoch(t, s, g, 2) // durable in the log; the round may not run
		m.Crash(fsx.PowerLoss)
		s2, _ := openT(t, m, "/data", Options{EpochRetention: 4})
		defer s2.Close()
		if epochs, err := s2.ListSnapshots(ctx, g); err != nil || len(epochs) != 0 {
			t.Fatalf("after the crash and Open: snapshots of epochs %v (%v), want none", epochs, err)
		}
		if _, _, err := s2.LatestSnapshot(ctx, g); !errors.Is(err, ErrNoSnapshot) {
			t.Fatalf("latest.snapshot after the crash and Open: %v, want ErrNoSnapshot", err)
		}
	})
}

// TestDeletedGroupLocalSnapshotsDeleted is issue 18's third defect at the
// store: the batch that deletes a group (a member removed from it, or
// leaving it) left its local snapshot files behind. They are now deleted
// by the round that applies that batch, and a snapshot saved afterwards
// (an upload that was under way) is not kept.
func TestDeletedGroupLocalSnapshotsDeleted(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, _ := openT(t, fsx.OS{}, dir, Options{})
	g := []byte("left")
	enterEpoch(t, s, g, 15)
	must(t, s.SaveSnapshot(ctx, g, 15, snapshotSecret(15)))
	must(t, s.Apply(ctx, &engine.Batch{Op: "ProcessCommit", Group: g, Deletes: []engine.Key{
		{Group: g, Kind: engine.KindEpochSecrets, Name: "epoch_15.bin"},
		{Group: g, Kind: engine.KindState, Name: "context"},
	}}))
	must(t, s.SaveSnapshot(ctx, g, 15, snapshotSecret(15)))
	must(t, s.Close())
	s, _ = openT(t, fsx.OS{}, dir, Options{})
	defer s.Close()
	if hits := filesContaining(t, dir, snapshotSecret(15)); len(hits) != 0 {
		t.Fatalf("the deleted group's snapshot is still in %v", hits)
	}
	names, err := s.readNames(filepath.Join(dir, "mls", "groups", fmt.Sprintf("%x", g), "snapshots"))
	if err != nil || len(names) != 0 {
		t.Fatalf("snapshot directory of the deleted group holds %v (%v)", names, err)
	}
}
