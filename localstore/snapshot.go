package localstore

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/mlsbackup/mlsbackup/internal/atomicfile"
)

const (
	snapshotHeaderSize = 64
	latestSnapshot     = "latest.snapshot"
)

var snapshotMagic = [8]byte{'M', 'L', 'S', 'B', 'S', 'N', 'P', 0}

// ErrNoSnapshot is returned when a group has no local snapshot (for an epoch).
var ErrNoSnapshot = errors.New("localstore: no local snapshot")

func encodeSnapshot(epoch uint64, data []byte) []byte {
	b := make([]byte, snapshotHeaderSize, snapshotHeaderSize+len(data))
	copy(b, snapshotMagic[:])
	binary.LittleEndian.PutUint32(b[8:], 1)
	binary.LittleEndian.PutUint64(b[16:], epoch)
	binary.LittleEndian.PutUint64(b[24:], uint64(len(data)))
	h := sha256.New()
	h.Write(b[:32])
	h.Write(data)
	copy(b[32:64], h.Sum(nil))
	return append(b, data...)
}

func decodeSnapshot(path string, b []byte) (uint64, []byte, error) {
	bad := func(reason string) error { return &CorruptFileError{Path: path, Reason: reason} }
	if len(b) < snapshotHeaderSize {
		return 0, nil, bad("short snapshot header")
	}
	if [8]byte(b[0:8]) != snapshotMagic {
		return 0, nil, bad("bad snapshot magic")
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != 1 {
		return 0, nil, bad(fmt.Sprintf("unsupported snapshot file version %d", v))
	}
	if n := binary.LittleEndian.Uint64(b[24:]); n != uint64(len(b)-snapshotHeaderSize) {
		return 0, nil, bad(fmt.Sprintf("length %d does not match file size %d", n, len(b)))
	}
	h := sha256.New()
	h.Write(b[:32])
	h.Write(b[snapshotHeaderSize:])
	if subtle.ConstantTimeCompare(h.Sum(nil), b[32:64]) != 1 {
		return 0, nil, bad("checksum mismatch")
	}
	return binary.LittleEndian.Uint64(b[16:]), b[snapshotHeaderSize:], nil
}

func (s *Store) snapshotDir(group []byte) string {
	return filepath.Join(s.groupDir(group), dirSnapshots)
}

// SaveSnapshot stores data (opaque snapshot bytes from the engine) as the
// group's snapshot of epoch: epoch_<N>.snapshot, then latest.snapshot,
// each written atomically; only the newest [Options.SnapshotsKept] epoch
// files are kept. A local snapshot lives only while its epoch is the
// group's current one (the epoch of its newest epoch_<N>.bin): the batch
// that moves the group to another epoch, or deletes it, has its snapshot
// files deleted by the applier round that applies it (forward secrecy: a
// snapshot of an earlier epoch holds secrets the group has deleted). So
// SaveSnapshot keeps nothing, and returns nil, for an epoch that is not
// the group's current one or a group that is not stored.
func (s *Store) SaveSnapshot(ctx context.Context, group []byte, epoch uint64, data []byte) error {
	if err := s.usable(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	if len(group) == 0 || len(group) > maxGroupID {
		return fmt.Errorf("save snapshot: %w: group id", ErrInvalidKey)
	}
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	current, ok, err := s.currentEpoch(group)
	if err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	if !ok || current != epoch {
		return nil
	}
	dir := s.snapshotDir(group)
	if err := s.ensureDir(dir); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	enc := encodeSnapshot(epoch, data)
	for _, name := range []string{snapshotName(epoch), latestSnapshot} {
		if err := atomicfile.Write(s.fs, filepath.Join(dir, name), enc, filePerm); err != nil {
			return fmt.Errorf("save snapshot: %w", err)
		}
	}
	epochs, err := s.snapshotEpochs(dir)
	if err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	if len(epochs) > s.opts.SnapshotsKept {
		if err := s.removeSnapshots(dir, epochs[:len(epochs)-s.opts.SnapshotsKept], false); err != nil {
			return fmt.Errorf("save snapshot: %w", err)
		}
	}
	return nil
}

// LatestSnapshot returns the epoch and bytes of the group's latest.snapshot.
func (s *Store) LatestSnapshot(ctx context.Context, group []byte) (uint64, []byte, error) {
	return s.readSnapshot(ctx, group, latestSnapshot)
}

// LoadSnapshot returns the bytes of the group's epoch_<epoch>.snapshot.
func (s *Store) LoadSnapshot(ctx context.Context, group []byte, epoch uint64) ([]byte, error) {
	_, data, err := s.readSnapshot(ctx, group, snapshotName(epoch))
	return data, err
}

func (s *Store) readSnapshot(ctx context.Context, group []byte, name string) (uint64, []byte, error) {
	if err := ctx.Err(); err != nil {
		return 0, nil, fmt.Errorf("read snapshot: %w", err)
	}
	if len(group) == 0 || len(group) > maxGroupID {
		return 0, nil, fmt.Errorf("read snapshot: %w: group id", ErrInvalidKey)
	}
	path := filepath.Join(s.snapshotDir(group), name)
	b, err := s.fs.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil, fmt.Errorf("read snapshot %s of group %x: %w", name, group, ErrNoSnapshot)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("read snapshot: %w", err)
	}
	return decodeSnapshot(path, b)
}

// ListSnapshots returns the epochs of the group's epoch_<N>.snapshot files, ascending.
func (s *Store) ListSnapshots(ctx context.Context, group []byte) ([]uint64, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	return s.snapshotEpochs(s.snapshotDir(group))
}

func (s *Store) snapshotEpochs(dir string) ([]uint64, error) {
	names, err := s.readNames(dir)
	if err != nil {
		return nil, err
	}
	var epochs []uint64
	for _, n := range names {
		d, ok := strings.CutPrefix(n, "epoch_")
		if !ok {
			continue
		}
		if d, ok = strings.CutSuffix(d, ".snapshot"); !ok {
			continue
		}
		if e, err := strconv.ParseUint(d, 10, 64); err == nil {
			epochs = append(epochs, e)
		}
	}
	sort.Slice(epochs, func(i, j int) bool { return epochs[i] < epochs[j] })
	return epochs, nil
}

// removeSnapshots deletes the given epoch files (and latest.snapshot if
// withLatest) and fsyncs the directory.
func (s *Store) removeSnapshots(dir string, epochs []uint64, withLatest bool) error {
	names := make([]string, 0, len(epochs)+1)
	for _, e := range epochs {
		names = append(names, snapshotName(e))
	}
	if withLatest {
		names = append(names, latestSnapshot)
	}
	for _, n := range names {
		if err := s.fs.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove snapshot: %w", err)
		}
	}
	if len(names) == 0 {
		return nil
	}
	if err := s.fs.SyncDir(dir); err != nil {
		return fmt.Errorf("remove snapshot: %w", err)
	}
	return nil
}

// currentEpoch returns the group's current epoch as every committed batch
// leaves it (its newest epoch_<N>.bin), and false if it has none.
func (s *Store) currentEpoch(group []byte) (uint64, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names, err := s.epochNamesLocked(group)
	if err != nil {
		return 0, false, err
	}
	e, ok := newestEpoch(names)
	return e, ok, nil
}

// pruneSnapshots deletes the local snapshots that marks no longer let
// stay: every one of a group that is gone, and those of any epoch but the
// current one otherwise (forward secrecy on disk: they hold secrets the
// group has deleted).
func (s *Store) pruneSnapshots(marks map[string]pruneMark) error {
	if len(marks) == 0 {
		return nil
	}
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	for gh, m := range marks {
		g, err := hex.DecodeString(gh)
		if err != nil {
			continue
		}
		dir := s.snapshotDir(g)
		epochs, err := s.snapshotEpochs(dir)
		if err != nil {
			return err
		}
		var old []uint64
		for _, e := range epochs {
			if m.gone || e != m.epoch {
				old = append(old, e)
			}
		}
		latestOld := false
		if b, err := s.fs.ReadFile(filepath.Join(dir, latestSnapshot)); err == nil {
			latestOld = m.gone || len(b) < 24 || binary.LittleEndian.Uint64(b[16:]) != m.epoch
		}
		if err := s.removeSnapshots(dir, old, latestOld); err != nil {
			return err
		}
	}
	return nil
}

// sweepSnapshots applies pruneSnapshots' rule to every group directory
// with local snapshots, on [Open]: a crash may have come between a batch
// and the applier round that prunes after it, and a data directory of an
// earlier version kept snapshots of epochs within the retention.
func (s *Store) sweepSnapshots() error {
	dirs, err := s.readNames(filepath.Join(s.dir, dirMLS, dirGroups))
	if err != nil {
		return err
	}
	marks := map[string]pruneMark{}
	for _, gh := range dirs {
		g, err := hex.DecodeString(gh)
		if err != nil || len(g) == 0 || hex.EncodeToString(g) != gh {
			continue
		}
		snaps, err := s.readNames(s.snapshotDir(g))
		if err != nil {
			return err
		}
		if len(snaps) == 0 {
			continue
		}
		e, ok, err := s.currentEpoch(g)
		if err != nil {
			return err
		}
		marks[gh] = pruneMark{epoch: e, gone: !ok}
	}
	return s.pruneSnapshots(marks)
}
