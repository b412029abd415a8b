package localstore

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/wal"
)

// fullFS returns an in-memory file system whose disk can be filled, the
// switch, and the data directory.
func fullFS(under string) (*fsx.Mem, *fsx.Faulty, *fsx.Full) {
	m := fsx.NewMem()
	full := &fsx.Full{Under: under}
	return m, fsx.NewFaulty(m, fsx.FaultyOptions{Inject: full.Inject}), full
}

// waitHealthy polls until the store reports healthy writes.
func waitHealthy(t *testing.T, s *Store) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !s.Health().OK() {
		if time.Now().After(deadline) {
			t.Fatalf("store still unhealthy: %+v", s.Health())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// dump reads the whole state through the store.
func dump(t *testing.T, s *Store) map[string]string {
	t.Helper()
	d, err := s.Dump(context.Background())
	must(t, err)
	out := map[string]string{}
	for k, v := range d {
		out[k] = string(v)
	}
	return out
}

// crashAndCheck crashes m in mode, reopens the store and checks that it
// holds exactly want and that no failed write left bytes in the log.
func crashAndCheck(t *testing.T, m *fsx.Mem, mode fsx.CrashMode, want map[string]string) *RecoveryReport {
	t.Helper()
	m.Crash(mode)
	s, rep := openT(t, m, "/data", Options{})
	t.Cleanup(func() { s.Close() })
	if rep.TornTail != nil {
		t.Errorf("reopen repaired a torn tail %+v: a failed write left bytes behind", *rep.TornTail)
	}
	if got := dump(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("after reopen: %v, want %v", got, want)
	}
	return rep
}

// TestFullDiskFailedTransitionLeavesNoTrace: a batch whose log write fails
// on a full disk returns ErrWriteFailed, and nothing of it is visible —
// not its puts, not its deletes, not in memory before the files are
// written — nor comes back after a restart; the batches around it do.
func TestFullDiskFailedTransitionLeavesNoTrace(t *testing.T) {
	for _, syncApply := range []bool{false, true} {
		t.Run(map[bool]string{false: "async", true: "sync"}[syncApply], func(t *testing.T) {
			ctx := context.Background()
			m, f, full := fullFS("")
			// A long ApplyDelay keeps the first batch in memory only.
			opts := Options{SyncApply: syncApply, ApplyDelay: time.Hour, CheckpointInterval: time.Hour}
			s, _ := openT(t, f, "/data", opts)
			must(t, s.Apply(ctx, &engine.Batch{Op: "Create", Group: []byte("g"), Puts: []engine.Put{
				put("g", engine.KindState, "context", "epoch-1"),
				put("g", engine.KindKeys, "leaf", "leaf-1"),
				put("g", engine.KindEpochSecrets, "epoch_1.bin", "secret-1"),
			}}))
			want := dump(t, s)

			full.Set(true)
			err := s.Apply(ctx, &engine.Batch{Op: "Commit", Group: []byte("g"),
				Puts: []engine.Put{
					put("g", engine.KindState, "context", "epoch-2"),
					put("g", engine.KindState, "new", "never"),
					put("g", engine.KindEpochSecrets, "epoch_2.bin", "secret-2"),
				},
				Deletes: []engine.Key{key("g", engine.KindKeys, "leaf")}})
			if !errors.Is(err, ErrWriteFailed) || !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("apply on a full disk: %v, want ErrWriteFailed and ENOSPC", err)
			}
			if got := dump(t, s); !reflect.DeepEqual(got, want) {
				t.Fatalf("after the failed batch: %v, want %v", got, want)
			}
			names, err := s.List(ctx, []byte("g"), engine.KindEpochSecrets)
			must(t, err)
			if !reflect.DeepEqual(names, []string{"epoch_1.bin"}) {
				t.Fatalf("epoch secrets after the failed batch: %v, want [epoch_1.bin]", names)
			}
			if h := s.Health(); h.OK() || !strings.Contains(h.Reason, "no space left on device") || h.Failures == 0 {
				t.Fatalf("health after the failed batch: %+v, want failing with no space left", h)
			}

			full.Set(false)
			must(t, s.Apply(ctx, &engine.Batch{Op: "Send", Group: []byte("g"), Puts: []engine.Put{
				put("g", engine.KindState, "secret_tree", "gen-1"),
			}}))
			want["67/state/secret_tree"] = "gen-1"
			if got := dump(t, s); !reflect.DeepEqual(got, want) {
				t.Fatalf("after space returned: %v, want %v", got, want)
			}
			if u := s.log.Unfinished(); u > 2 {
				t.Fatalf("%d unfinished operations in the log: the failed batch pins it", u)
			}
			// No Close: what the process wrote stays.
			crashAndCheck(t, m, fsx.ProcessKill, want)
		})
	}
}

// TestFullDiskStoreRecoversWithoutRestart: with the disk full, Apply fails
// cleanly and the store reports unhealthy writes; once space returns it
// becomes healthy again by itself (no Apply, no restart), takes batches
// again, and every acknowledged batch survives a power loss.
func TestFullDiskStoreRecoversWithoutRestart(t *testing.T) {
	ctx := context.Background()
	m, f, full := fullFS("")
	s, _ := openT(t, f, "/data", Options{ApplyDelay: -1, RetryMax: 50 * time.Millisecond})
	acked := map[string]string{}
	apply := func(i int) error {
		g := fmt.Sprint("g", i%3)
		err := s.Apply(ctx, &engine.Batch{Op: "Send", Group: []byte(g), Puts: []engine.Put{
			put(g, engine.KindState, "gen", fmt.Sprint(i)),
			put(g, engine.KindState, fmt.Sprint("m", i), strings.Repeat("x", 100)),
		}})
		if err == nil {
			acked[fmt.Sprintf("%x/state/gen", g)] = fmt.Sprint(i)
			acked[fmt.Sprintf("%x/state/m%d", g, i)] = strings.Repeat("x", 100)
		}
		return err
	}
	for i := range 10 {
		must(t, apply(i))
	}
	full.Set(true)
	failed := 0
	for i := 10; i < 20; i++ {
		if err := apply(i); err != nil {
			if !errors.Is(err, ErrWriteFailed) {
				t.Fatalf("apply %d on a full disk: %v, want ErrWriteFailed", i, err)
			}
			failed++
		}
	}
	if failed == 0 {
		t.Fatal("no apply failed on a full disk")
	}
	if h := s.Health(); h.OK() || h.Since.IsZero() {
		t.Fatalf("health on a full disk: %+v, want failing", h)
	}
	full.Set(false)
	waitHealthy(t, s)
	for i := 20; i < 30; i++ {
		must(t, apply(i))
	}
	must(t, s.Flush(ctx))
	if got := dump(t, s); !reflect.DeepEqual(got, acked) {
		t.Fatalf("after recovery: %v, want %v", got, acked)
	}
	crashAndCheck(t, m, fsx.PowerLoss, acked)
}

// TestFullDiskApplierFailureRetried: when only the component files cannot
// be written (the log still has room), Apply keeps working, reads stay
// correct, the store reports unhealthy writes, and once space returns the
// background applier catches up and checkpoints by itself.
func TestFullDiskApplierFailureRetried(t *testing.T) {
	ctx := context.Background()
	m, f, full := fullFS("/data/mls/")
	s, _ := openT(t, f, "/data", Options{ApplyDelay: -1, RetryMax: 50 * time.Millisecond})
	full.Set(true)
	want := map[string]string{}
	for i := range 20 {
		g := fmt.Sprint("g", i%2)
		must(t, s.Apply(ctx, &engine.Batch{Op: "Send", Group: []byte(g), Puts: []engine.Put{put(g, engine.KindState, "gen", fmt.Sprint(i))}}))
		want[fmt.Sprintf("%x/state/gen", g)] = fmt.Sprint(i)
	}
	deadline := time.Now().Add(20 * time.Second)
	for s.Health().OK() {
		if time.Now().After(deadline) {
			t.Fatal("store healthy although the applier cannot write")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if h := s.Health(); !strings.HasPrefix(h.Reason, "component files: ") {
		t.Fatalf("reason %q, want the component files named", h.Reason)
	}
	if got := dump(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("reads while the applier fails: %v, want %v", got, want)
	}
	full.Set(false)
	waitHealthy(t, s)
	// Healthy means a round and its checkpoint succeeded: the log holds
	// nothing to replay.
	if rep := crashAndCheck(t, m, fsx.PowerLoss, want); len(rep.Replayed) != 0 {
		t.Fatalf("%d batches replayed after recovery; the checkpoint did not run", len(rep.Replayed))
	}
}

// TestFullDiskBackpressureFailsCleanly: with the applier unable to write
// and the overlay at its bound, Apply fails with ErrWriteFailed instead of
// waiting for space forever.
func TestFullDiskBackpressureFailsCleanly(t *testing.T) {
	ctx := context.Background()
	_, f, full := fullFS("/data/mls/")
	s, _ := openT(t, f, "/data", Options{ApplyDelay: -1, MaxPending: 4, RetryMax: time.Hour})
	defer s.Close()
	full.Set(true)
	done := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			if err := s.Apply(ctx, &engine.Batch{Op: "Send", Puts: []engine.Put{put("g", engine.KindState, fmt.Sprint("c", i), "v")}}); err != nil {
				done <- err
				return
			}
		}
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrWriteFailed) {
			t.Fatalf("apply with a full overlay and a failing applier: %v, want ErrWriteFailed", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("apply blocked while the applier cannot write")
	}
	full.Set(false)
}

// TestFullDiskCloseKeepsEverythingInTheLog: a Close whose final applier
// round and checkpoint fail for lack of space reports ErrNotCheckpointed;
// every acknowledged batch is in the log and the next open replays it.
func TestFullDiskCloseKeepsEverythingInTheLog(t *testing.T) {
	ctx := context.Background()
	m, f, full := fullFS("")
	s, _ := openT(t, f, "/data", Options{ApplyDelay: time.Hour, CheckpointInterval: time.Hour})
	must(t, s.Apply(ctx, &engine.Batch{Op: "Create", Group: []byte("g"), Puts: []engine.Put{put("g", engine.KindState, "context", "c1")}}))
	full.Set(true)
	err := s.Close()
	if !errors.Is(err, ErrNotCheckpointed) {
		t.Fatalf("close on a full disk: %v, want ErrNotCheckpointed", err)
	}
	if rep := crashAndCheck(t, m, fsx.PowerLoss, map[string]string{"67/state/context": "c1"}); len(rep.Replayed) != 1 {
		t.Fatalf("replayed %d batches, want 1", len(rep.Replayed))
	}
}

// TestFullDiskOnTmpfs runs the full-disk cycle on a real small file system
// (a tmpfs; the fault-injecting file system where mounting is not
// permitted): fill it, see batches fail cleanly and the health report it,
// free it, see the store recover by itself, and find every acknowledged
// batch after a reopen.
func TestFullDiskOnTmpfs(t *testing.T) {
	ctx := context.Background()
	disk, err := fsx.NewSmallDisk(t.TempDir(), 512<<10)
	must(t, err)
	t.Cleanup(func() { must(t, disk.Close()) })
	t.Logf("tmpfs: %v", disk.Tmpfs)
	dir := disk.Dir + "/data"
	s, _ := openT(t, disk.FS(), dir, Options{ApplyDelay: -1, RetryMax: 50 * time.Millisecond})
	acked := map[string]string{}
	value := func(i int) string { return strings.Repeat(fmt.Sprint(i%10), 8<<10) }
	apply := func(i int) error {
		g := fmt.Sprint("g", i%4)
		err := s.Apply(ctx, &engine.Batch{Op: "Commit", Group: []byte(g), Puts: []engine.Put{
			put(g, engine.KindState, "context", value(i)),
		}})
		if err == nil {
			acked[fmt.Sprintf("%x/state/context", g)] = value(i)
		}
		return err
	}
	for i := range 8 {
		must(t, apply(i))
	}
	must(t, s.Flush(ctx))
	must(t, disk.Fill())
	failed := 0
	for i := 8; i < 16; i++ {
		if err := apply(i); err != nil {
			if !errors.Is(err, ErrWriteFailed) || !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("apply %d on the full disk: %v, want ErrWriteFailed and ENOSPC", i, err)
			}
			failed++
		}
	}
	if failed == 0 {
		t.Fatal("no apply failed on the full disk")
	}
	if h := s.Health(); h.OK() || !strings.Contains(h.Reason, "no space left on device") {
		t.Fatalf("health on the full disk: %+v", h)
	}
	if got := dump(t, s); !reflect.DeepEqual(got, acked) {
		t.Fatalf("reads on the full disk: differ from the acknowledged batches")
	}
	must(t, disk.Free())
	waitHealthy(t, s)
	for i := 16; i < 24; i++ {
		must(t, apply(i))
	}
	must(t, s.Close())
	s2, rep := openT(t, disk.FS(), dir, Options{})
	defer s2.Close()
	if rep.TornTail != nil {
		t.Errorf("reopen repaired a torn tail %+v", *rep.TornTail)
	}
	if got := dump(t, s2); !reflect.DeepEqual(got, acked) {
		t.Fatal("after reopen: state differs from the acknowledged batches")
	}
}

// TestFullDiskConcurrentFailuresLeaveNoTrace: committers on several
// groups share log writes while the disk fills and frees at random; each
// reads its own component after each Apply: a failed batch is never
// visible, an acknowledged one always is, and a power loss keeps exactly
// the acknowledged values.
func TestFullDiskConcurrentFailuresLeaveNoTrace(t *testing.T) {
	ctx := context.Background()
	m := fsx.NewMem()
	full := &fsx.Full{}
	// A failing write takes a while, as on a real disk: other committers
	// append to the log meanwhile, and lose their records with it.
	f := fsx.NewFaulty(m, fsx.FaultyOptions{Inject: func(op fsx.Op, path string, data []byte) (int, error) {
		keep, err := full.Inject(op, path, data)
		if err != nil {
			time.Sleep(200 * time.Microsecond)
		}
		return keep, err
	}})
	s, _ := openT(t, f, "/data", Options{ApplyDelay: -1, CheckpointBytes: 8 << 10, RetryMax: time.Millisecond})
	const writers, ops = 8, 150
	stop := make(chan struct{})
	toggled := make(chan struct{})
	go func() {
		defer close(toggled)
		for i := 0; ; i++ {
			select {
			case <-stop:
				full.Set(false)
				return
			case <-time.After(time.Duration(i%7) * 100 * time.Microsecond):
				full.Set(i%3 == 0)
			}
		}
	}()
	last := make([]string, writers)
	errs := make(chan error, writers)
	var failures atomic.Int64
	for w := range writers {
		go func() {
			g := fmt.Sprint("w", w)
			k := key(g, engine.KindState, "gen")
			for i := range ops {
				v := fmt.Sprint(i)
				err := s.Apply(ctx, &engine.Batch{Op: "Send", Group: []byte(g), Puts: []engine.Put{{Key: k, Value: []byte(v)}}})
				switch {
				case err == nil:
					last[w] = v
				case errors.Is(err, ErrWriteFailed):
					failures.Add(1)
				default:
					errs <- err
					return
				}
				got, err := s.Get(ctx, k)
				if last[w] == "" && errors.Is(err, engine.ErrNotFound) {
					continue
				}
				if err != nil || string(got) != last[w] {
					errs <- fmt.Errorf("writer %d after op %d: read %q, %v; want %q", w, i, got, err, last[w])
					return
				}
			}
			errs <- nil
		}()
	}
	for range writers {
		must(t, <-errs)
	}
	close(stop)
	<-toggled
	t.Logf("%d of %d applies failed on the full disk", failures.Load(), writers*ops)
	if failures.Load() == 0 {
		t.Fatal("no apply failed")
	}
	waitHealthy(t, s)
	want := map[string]string{}
	for w, v := range last {
		if v != "" {
			want[fmt.Sprintf("%x/state/gen", fmt.Sprint("w", w))] = v
		}
	}
	must(t, s.Close())
	crashAndCheck(t, m, fsx.PowerLoss, want)
}

// TestFullDiskBatchLostBeforeInstallIsNotVisible: a batch whose log
// record is lost by another committer's failed write between its append
// and its installation in the overlay (both under the store lock) is not
// installed, so no reader or applier round ever sees it.
func TestFullDiskBatchLostBeforeInstallIsNotVisible(t *testing.T) {
	ctx := context.Background()
	_, f, full := fullFS("")
	s, _ := openT(t, f, "/data", Options{ApplyDelay: time.Hour})
	defer s.Close()
	k := key("g", engine.KindState, "context")
	must(t, s.Apply(ctx, &engine.Batch{Op: "Create", Group: []byte("g"), Puts: []engine.Put{{Key: k, Value: []byte("durable")}}}))

	b := &engine.Batch{Op: "Commit", Group: []byte("g"), Puts: []engine.Put{{Key: k, Value: []byte("lost")}}}
	id, err := s.log.Begin(ctx, b.Op, nil, false)
	must(t, err)
	s.mu.Lock()
	s.rollbackLocked()
	ticket, err := s.log.CommitAsync(ctx, id, encodeBatch(b))
	must(t, err)
	// Another committer's group fsync fails meanwhile.
	full.Set(true)
	if err := s.log.Sync(ctx); !errors.Is(err, wal.ErrWriteFailed) {
		t.Fatalf("sync on a full disk: %v, want ErrWriteFailed", err)
	}
	full.Set(false)
	err = s.installLocked(b, ticket, nil)
	s.mu.Unlock()
	if !errors.Is(err, wal.ErrWriteFailed) {
		t.Fatalf("install of a lost batch: %v, want ErrWriteFailed", err)
	}
	got, err := s.Get(ctx, k)
	if err != nil || string(got) != "durable" {
		t.Fatalf("read after the lost batch: %q, %v; want durable", got, err)
	}
}
