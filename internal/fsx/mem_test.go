package fsx

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func writeFile(t *testing.T, fsys FS, name, data string, sync bool) {
	t.Helper()
	f, err := fsys.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func readOrMissing(fsys FS, name string) string {
	b, err := fsys.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return "<missing>"
	}
	if err != nil {
		return "<error " + err.Error() + ">"
	}
	return string(b)
}

func TestMemCrash(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, m *Mem)
		mode  CrashMode
		file  string
		want  string
	}{
		{"synced file and dir survive", func(t *testing.T, m *Mem) {
			writeFile(t, m, "/d/a", "one", true)
			mustNil(t, m.SyncDir("/d"))
		}, PowerLoss, "/d/a", "one"},
		{"unsynced dir entry lost", func(t *testing.T, m *Mem) {
			writeFile(t, m, "/d/a", "one", true)
		}, PowerLoss, "/d/a", "<missing>"},
		{"unsynced content lost", func(t *testing.T, m *Mem) {
			writeFile(t, m, "/d/a", "one", false)
			mustNil(t, m.SyncDir("/d"))
		}, PowerLoss, "/d/a", ""},
		{"process kill keeps unsynced", func(t *testing.T, m *Mem) {
			writeFile(t, m, "/d/a", "one", false)
		}, ProcessKill, "/d/a", "one"},
		{"rename without dir sync reverts", func(t *testing.T, m *Mem) {
			writeFile(t, m, "/d/a", "old", true)
			writeFile(t, m, "/d/t", "new", true)
			mustNil(t, m.SyncDir("/d"))
			mustNil(t, m.Rename("/d/t", "/d/a"))
		}, PowerLoss, "/d/a", "old"},
		{"rename with dir sync sticks", func(t *testing.T, m *Mem) {
			writeFile(t, m, "/d/a", "old", true)
			writeFile(t, m, "/d/t", "new", true)
			mustNil(t, m.SyncDir("/d"))
			mustNil(t, m.Rename("/d/t", "/d/a"))
			mustNil(t, m.SyncDir("/d"))
		}, PowerLoss, "/d/a", "new"},
		{"remove without dir sync reverts", func(t *testing.T, m *Mem) {
			writeFile(t, m, "/d/a", "x", true)
			mustNil(t, m.SyncDir("/d"))
			mustNil(t, m.Remove("/d/a"))
		}, PowerLoss, "/d/a", "x"},
		{"unsynced subdirectory lost", func(t *testing.T, m *Mem) {
			mustNil(t, m.MkdirAll("/d/e", 0o700))
			writeFile(t, m, "/d/e/a", "x", true)
			mustNil(t, m.SyncDir("/d/e"))
		}, PowerLoss, "/d/e/a", "<missing>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMem()
			mustNil(t, m.MkdirAll("/d", 0o700))
			mustNil(t, m.SyncDir("/"))
			tc.setup(t, m)
			m.Crash(tc.mode)
			if got := readOrMissing(m, tc.file); got != tc.want {
				t.Fatalf("after crash %s = %q, want %q", tc.file, got, tc.want)
			}
		})
	}
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestMemReadDirAndLink(t *testing.T) {
	m := NewMem()
	mustNil(t, m.MkdirAll("/d", 0o700))
	writeFile(t, m, "/d/b", "b", true)
	writeFile(t, m, "/d/a", "a", true)
	mustNil(t, m.Link("/d/a", "/d/c"))
	if err := m.Link("/d/b", "/d/c"); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("link over existing: got %v, want ErrExist", err)
	}
	ents, err := m.ReadDir("/d")
	mustNil(t, err)
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if want := []string{"a", "b", "c"}; len(got) != 3 || got[0] != want[0] || got[2] != want[2] {
		t.Fatalf("ReadDir = %v, want %v", got, want)
	}
	if got := readOrMissing(m, "/d/c"); got != "a" {
		t.Fatalf("link content %q, want a", got)
	}
}

func TestFaultyStopsTheWorld(t *testing.T) {
	for k := int64(1); k <= 4; k++ {
		m := NewMem()
		f := NewFaulty(m, FaultyOptions{FailAt: k, Torn: true})
		// Operations: 1 create, 2 write, 3 sync, 4 syncdir.
		var errs []error
		file, err := f.OpenFile("/a", os.O_WRONLY|os.O_CREATE, 0o600)
		errs = append(errs, err)
		if err == nil {
			_, err = file.Write([]byte("abcd"))
			errs = append(errs, err)
			errs = append(errs, file.Sync())
		}
		errs = append(errs, f.SyncDir("/"))
		if !f.Crashed() {
			t.Fatalf("k=%d: not crashed", k)
		}
		for i, err := range errs {
			if wantErr := int64(i+1) >= k; (err != nil) != wantErr {
				t.Fatalf("k=%d op %d: err=%v, want error %v", k, i+1, err, wantErr)
			}
		}
		if _, err := f.ReadFile("/a"); !errors.Is(err, ErrCrashed) {
			t.Fatalf("k=%d: read after crash: %v, want ErrCrashed", k, err)
		}
		if k == 2 {
			if got := readOrMissing(m, "/a"); got != "ab" {
				t.Fatalf("torn write left %q, want %q", got, "ab")
			}
		}
	}
}

func TestFaultyCounts(t *testing.T) {
	f := NewFaulty(NewMem(), FaultyOptions{})
	writeFile(t, f, "/a", "hello", true)
	mustNil(t, f.Rename("/a", "/b"))
	mustNil(t, f.Remove("/b"))
	s := f.Stats()
	want := map[Op]int64{OpCreate: 1, OpWrite: 1, OpSync: 1, OpRename: 1, OpRemove: 1}
	for op, n := range want {
		if s.Ops[op] != n {
			t.Errorf("%s = %d, want %d", op, s.Ops[op], n)
		}
	}
	if s.BytesWritten != 5 || s.Total() != 5 {
		t.Errorf("bytes=%d total=%d, want 5 and 5", s.BytesWritten, s.Total())
	}
}

func TestLockExclusive(t *testing.T) {
	for _, tc := range []struct {
		name string
		l    Locker
		path string
	}{
		{"os", OS{}, filepath.Join(t.TempDir(), "LOCK")},
		{"mem", NewMem(), "/LOCK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.l.Lock(tc.path)
			mustNil(t, err)
			if _, err := tc.l.Lock(tc.path); !errors.Is(err, ErrLocked) {
				t.Fatalf("second lock: got %v, want ErrLocked", err)
			}
			mustNil(t, c.Close())
			c2, err := tc.l.Lock(tc.path)
			mustNil(t, err)
			mustNil(t, c2.Close())
		})
	}
}

func TestMemCloneIsIndependent(t *testing.T) {
	m := NewMem()
	mustNil(t, m.MkdirAll("/d", 0o700))
	mustNil(t, m.SyncDir("/"))
	writeFile(t, m, "/d/a", "durable", true)
	mustNil(t, m.SyncDir("/d"))
	writeFile(t, m, "/d/b", "volatile", false)
	c := m.Clone()
	writeFile(t, m, "/d/a", "changed", true)
	c.Crash(PowerLoss)
	tests := []struct {
		fsys       FS
		file, want string
	}{
		{c, "/d/a", "durable"}, {c, "/d/b", "<missing>"}, {m, "/d/a", "changed"}, {m, "/d/b", "volatile"},
	}
	for _, tc := range tests {
		if got := readOrMissing(tc.fsys, tc.file); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.file, got, tc.want)
		}
	}
}

func TestFaultyBeforeHook(t *testing.T) {
	var got []string
	f := NewFaulty(NewMem(), FaultyOptions{Before: func(n int64, op Op, path string, data []byte) {
		got = append(got, fmt.Sprintf("%d %s %s %q", n, op, path, data))
	}})
	writeFile(t, f, "/a", "hi", true)
	mustNil(t, f.Rename("/a", "/b"))
	want := []string{`1 create /a ""`, `2 write /a "hi"`, `3 sync /a ""`, `4 rename /b ""`}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("hook saw %q, want %q", got, want)
	}
}
