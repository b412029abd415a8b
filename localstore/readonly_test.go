package localstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/internal/testenv"
)

// readOnlyFS is the real file system refusing every change with EROFS, as
// a read-only mount does (also for root); it keeps fsx.OS's shared lock
// and counts what was refused.
type readOnlyFS struct {
	fsx.OS
	refused *atomic.Int32
}

func (r readOnlyFS) refuse(op, path string) error {
	r.refused.Add(1)
	return &fs.PathError{Op: op, Path: path, Err: syscall.EROFS}
}

func (r readOnlyFS) OpenFile(name string, flag int, perm fs.FileMode) (fsx.File, error) {
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND) != 0 {
		return nil, r.refuse("open", name)
	}
	return r.OS.OpenFile(name, flag, perm)
}
func (r readOnlyFS) Rename(_, newpath string) error            { return r.refuse("rename", newpath) }
func (r readOnlyFS) Link(_, newpath string) error              { return r.refuse("link", newpath) }
func (r readOnlyFS) Remove(name string) error                  { return r.refuse("remove", name) }
func (r readOnlyFS) RemoveAll(name string) error               { return r.refuse("remove", name) }
func (r readOnlyFS) MkdirAll(name string, _ fs.FileMode) error { return r.refuse("mkdir", name) }
func (r readOnlyFS) SyncDir(dir string) error                  { return r.refuse("fsync", dir) }
func (r readOnlyFS) Lock(name string) (io.Closer, error)       { return nil, r.refuse("lock", name) }

// TestOpenReadOnlyChangesNothing: a data directory that a killed writer
// left with batches committed in the log but not yet in the component
// files opens read-only on a file system that refuses every change, reads
// exactly as Open recovers it, and is left byte for byte as it was; the
// read-only view and a writer exclude each other through the lock.
func TestOpenReadOnlyChangesNothing(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	s, _ := openT(t, fsx.OS{}, dir, Options{ApplyDelay: time.Hour, CheckpointInterval: time.Hour})
	must(t, s.Apply(ctx, &engine.Batch{Op: "Create", Group: []byte("g1"), Puts: []engine.Put{
		put("g1", engine.KindState, "context", "ctx1"),
		put("g1", engine.KindKeys, "leaf", "k1"),
		put("", engine.KindKeys, "kp_1", "init"),
	}}))
	must(t, s.Flush(ctx)) // in the component files
	must(t, s.Apply(ctx, &engine.Batch{Op: "Update", Group: []byte("g1"),
		Puts:    []engine.Put{put("g1", engine.KindState, "context", "ctx2"), put("g2", engine.KindState, "context", "new")},
		Deletes: []engine.Key{key("g1", engine.KindKeys, "leaf")}})) // in the log only
	img := filepath.Join(t.TempDir(), "image")
	copyTree(t, dir, img) // what a kill -9 now leaves
	must(t, s.Close())
	if b, err := os.ReadFile(filepath.Join(img, "mls", "groups", "6731", "state", "context")); err != nil || bytes.Contains(b, []byte("ctx2")) {
		t.Fatalf("the image's component file holds ctx2 already (%v): the log is not exercised", err)
	}
	recovered := filepath.Join(t.TempDir(), "recovered")
	copyTree(t, img, recovered)
	w, _ := openT(t, fsx.OS{}, recovered, Options{})
	want, err := w.Dump(ctx)
	must(t, err)

	before := testenv.Tree(t, img)
	var refused atomic.Int32
	ro, err := OpenReadOnly(ctx, readOnlyFS{refused: &refused}, img, Options{})
	if err != nil {
		t.Fatalf("OpenReadOnly: %v", err)
	}
	got, err := ro.s.Dump(ctx)
	must(t, err)
	if !reflect.DeepEqual(got, want) || string(got["6731/state/context"]) != "ctx2" {
		t.Errorf("read-only view %q\nOpen recovers %q", got, want)
	}
	if err := ro.Apply(ctx, &engine.Batch{Op: "X"}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Apply = %v, want ErrReadOnly", err)
	}
	if _, _, err := Open(ctx, fsx.OS{}, img, Options{}); !errors.Is(err, ErrLocked) {
		t.Errorf("Open while read-only: %v, want ErrLocked", err)
	}
	must(t, ro.Close())
	if n := refused.Load(); n != 0 {
		t.Errorf("OpenReadOnly attempted %d changes", n)
	}
	if after := testenv.Tree(t, img); !maps.Equal(after, before) {
		t.Errorf("the data directory changed:\nbefore %v\nafter  %v", before, after)
	}

	if _, err := OpenReadOnly(ctx, fsx.OS{}, recovered, Options{}); !errors.Is(err, ErrLocked) {
		t.Errorf("OpenReadOnly while a Store holds it: %v, want ErrLocked", err)
	}
	must(t, w.Close())

	empty := t.TempDir()
	ro, err = OpenReadOnly(ctx, readOnlyFS{refused: &refused}, empty, Options{})
	if err != nil {
		t.Fatalf("OpenReadOnly of an empty directory: %v", err)
	}
	if groups, err := ro.Groups(ctx); err != nil || len(groups) != 0 {
		t.Errorf("empty directory: groups %q, %v", groups, err)
	}
	must(t, ro.Close())
	if _, err := OpenReadOnly(ctx, fsx.OS{}, filepath.Join(empty, "none"), Options{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenReadOnly of a missing directory: %v, want ErrNotExist", err)
	}
}

// copyTree copies the files and directories below src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	must(t, filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, fi.Mode().Perm())
	}))
}
