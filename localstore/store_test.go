package localstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func openT(t *testing.T, fsys fsx.FS, dir string, opts Options) (*Store, *RecoveryReport) {
	t.Helper()
	s, rep, err := Open(context.Background(), fsys, dir, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s, rep
}

func key(g string, kind engine.Kind, name string) engine.Key {
	return engine.Key{Group: []byte(g), Kind: kind, Name: name}
}

func put(g string, kind engine.Kind, name, v string) engine.Put {
	return engine.Put{Key: key(g, kind, name), Value: []byte(v)}
}

func TestApplyGetListGroups(t *testing.T) {
	for _, syncApply := range []bool{false, true} {
		t.Run(map[bool]string{false: "async", true: "sync"}[syncApply], func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			s, _ := openT(t, fsx.OS{}, dir, Options{SyncApply: syncApply})
			must(t, s.Apply(ctx, &engine.Batch{Op: "Create", Group: []byte("g1"), Puts: []engine.Put{
				put("g1", engine.KindState, "context", "ctx1"),
				put("g1", engine.KindKeys, "leaf", "k1"),
				put("", engine.KindKeys, "kp_1", "init"),
			}}))
			must(t, s.Apply(ctx, &engine.Batch{Op: "Update", Group: []byte("g1"),
				Puts:    []engine.Put{put("g1", engine.KindState, "context", "ctx2")},
				Deletes: []engine.Key{key("g1", engine.KindKeys, "leaf"), key("g1", engine.KindKeys, "absent")}}))
			check := func(s *Store) {
				t.Helper()
				got, err := s.Get(ctx, key("g1", engine.KindState, "context"))
				if err != nil || string(got) != "ctx2" {
					t.Fatalf("get context = %q, %v; want ctx2", got, err)
				}
				if _, err := s.Get(ctx, key("g1", engine.KindKeys, "leaf")); !errors.Is(err, engine.ErrNotFound) {
					t.Fatalf("deleted leaf: %v, want ErrNotFound", err)
				}
				names, err := s.List(ctx, nil, engine.KindKeys)
				if err != nil || !reflect.DeepEqual(names, []string{"kp_1"}) {
					t.Fatalf("client keys = %v, %v", names, err)
				}
				groups, err := s.Groups(ctx)
				if err != nil || len(groups) != 1 || string(groups[0]) != "g1" {
					t.Fatalf("groups = %q, %v", groups, err)
				}
			}
			check(s)
			must(t, s.Close())
			s2, rep := openT(t, fsx.OS{}, dir, Options{})
			defer s2.Close()
			if len(rep.Replayed)+len(rep.Dropped) != 0 {
				t.Fatalf("clean close left work for recovery: %+v", rep)
			}
			check(s2)
			// Files and directories carry the promised modes.
			must(t, filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
				if err != nil {
					return err
				}
				want := os.FileMode(0o600)
				if fi.IsDir() {
					want = 0o700
				}
				if p != dir && fi.Mode().Perm() != want {
					t.Errorf("%s mode %v, want %v", p, fi.Mode().Perm(), want)
				}
				return nil
			}))
			if _, err := os.Stat(filepath.Join(dir, "mls", "groups", "6731", "state", "context")); err != nil {
				t.Errorf("layout: %v", err)
			}
		})
	}
}

func TestSecondOpenIsRefused(t *testing.T) {
	dir := t.TempDir()
	s, _ := openT(t, fsx.OS{}, dir, Options{})
	defer s.Close()
	_, _, err := Open(context.Background(), fsx.OS{}, dir, Options{})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "LOCK") {
		t.Fatalf("second open: %v, want ErrLocked naming the lock file", err)
	}
}

func TestFormatVersion(t *testing.T) {
	tests := []struct {
		name    string
		content string
		wantErr bool
	}{
		{"current", "mlsbackup-localstore 1\n", false},
		{"future", "mlsbackup-localstore 2\n", true},
		{"garbage", "hello", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			must(t, os.WriteFile(filepath.Join(dir, "FORMAT"), []byte(tc.content), 0o600))
			s, _, err := Open(context.Background(), fsx.OS{}, dir, Options{})
			if tc.wantErr {
				if !errors.Is(err, ErrUnsupportedFormat) || !strings.Contains(err.Error(), "FORMAT") {
					t.Fatalf("err = %v, want ErrUnsupportedFormat naming FORMAT", err)
				}
				return
			}
			must(t, err)
			must(t, s.Close())
		})
	}
}

func TestCorruptComponentIsNamed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, _ := openT(t, fsx.OS{}, dir, Options{SyncApply: true})
	must(t, s.Apply(ctx, &engine.Batch{Op: "Create", Puts: []engine.Put{put("g", engine.KindState, "tree", "abcdefgh")}}))
	must(t, s.Close())
	path := filepath.Join(dir, "mls", "groups", "67", "state", "tree")
	b, err := os.ReadFile(path)
	must(t, err)
	for i := range b {
		flipped := bytes.Clone(b)
		flipped[i] ^= 0x04
		must(t, os.WriteFile(path, flipped, 0o600))
		s, _ := openT(t, fsx.OS{}, dir, Options{})
		_, err := s.Get(ctx, key("g", engine.KindState, "tree"))
		var ce *CorruptFileError
		if !errors.As(err, &ce) || ce.Path != path {
			t.Fatalf("flip at %d: err = %v, want CorruptFileError naming %s", i, err, path)
		}
		must(t, s.Close())
		after, _ := os.ReadFile(path)
		if !bytes.Equal(after, flipped) {
			t.Fatalf("flip at %d: corrupt file was overwritten", i)
		}
	}
}

func TestEpochRetention(t *testing.T) {
	ctx := context.Background()
	s, _ := openT(t, fsx.NewMem(), "/data", Options{EpochRetention: 3, SyncApply: true})
	defer s.Close()
	for e := range 6 {
		must(t, s.Apply(ctx, &engine.Batch{Op: "Commit", Puts: []engine.Put{
			put("g", engine.KindEpochSecrets, "epoch_"+string(rune('0'+e))+".bin", "s"),
			put("g", engine.KindEpochSecrets, "other", "x"),
		}}))
	}
	got, err := s.List(ctx, []byte("g"), engine.KindEpochSecrets)
	must(t, err)
	if want := []string{"epoch_3.bin", "epoch_4.bin", "epoch_5.bin", "other"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("epoch secrets = %v, want %v", got, want)
	}
}

func TestInvalidKeys(t *testing.T) {
	s, _ := openT(t, fsx.NewMem(), "/data", Options{})
	defer s.Close()
	for _, k := range []engine.Key{
		key("g", "state", "../x"), key("g", "state", ""), key("g", "snapshots", "x"),
		key("g", "st/ate", "x"), key("g", "state", ".tmp-x"), key(strings.Repeat("g", 121), "state", "x"),
	} {
		err := s.Apply(context.Background(), &engine.Batch{Op: "X", Puts: []engine.Put{{Key: k, Value: []byte("v")}}})
		if !errors.Is(err, ErrInvalidKey) {
			t.Errorf("key %q/%q/%q: err = %v, want ErrInvalidKey", k.Group, k.Kind, k.Name, err)
		}
	}
}

func TestCancelledApplyLeavesNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, _ := openT(t, fsx.NewMem(), "/data", Options{})
	defer s.Close()
	err := s.Apply(ctx, &engine.Batch{Op: "X", Puts: []engine.Put{put("g", engine.KindState, "a", "v")}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := s.log.Unfinished(); n != 0 {
		t.Fatalf("%d unfinished operations in the log, want 0", n)
	}
	if _, err := s.Get(context.Background(), key("g", engine.KindState, "a")); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("cancelled batch visible: %v", err)
	}
}

func TestBackpressureKeepsEverything(t *testing.T) {
	ctx := context.Background()
	m := fsx.NewMem()
	s, _ := openT(t, m, "/data", Options{MaxPending: 2})
	const groups, ops = 4, 30
	errs := make(chan error, groups)
	for g := range groups {
		go func() {
			for i := range ops {
				b := &engine.Batch{Op: "Send", Puts: []engine.Put{
					put(fmt.Sprint("g", g), engine.KindState, "gen", fmt.Sprint(i)),
					put(fmt.Sprint("g", g), engine.KindState, fmt.Sprint("c", i%3), fmt.Sprint(i)),
				}}
				if err := s.Apply(ctx, b); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range groups {
		must(t, <-errs)
	}
	must(t, s.Close())
	m.Crash(fsx.PowerLoss)
	s2, rep := openT(t, m, "/data", Options{})
	defer s2.Close()
	if len(rep.Replayed) != 0 {
		t.Errorf("clean close left %d batches to replay", len(rep.Replayed))
	}
	for g := range groups {
		got, err := s2.Get(ctx, key(fmt.Sprint("g", g), engine.KindState, "gen"))
		if err != nil || string(got) != fmt.Sprint(ops-1) {
			t.Errorf("group %d gen = %q, %v; want %d", g, got, err, ops-1)
		}
	}
}

func TestEpochOf(t *testing.T) {
	tests := []struct {
		name string
		want uint64
		ok   bool
	}{
		{"epoch_7.bin", 7, true},
		{"epoch_00000000000000000012.bin", 12, true},
		{"epoch_.bin", 0, false},
		{"epoch_-1.bin", 0, false},
		{"epoch_1x.bin", 0, false},
		{"epoch_3.dat", 0, false},
		{"other", 0, false},
	}
	for _, tc := range tests {
		got, ok := EpochOf(tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("EpochOf(%q) = %d, %v; want %d, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
