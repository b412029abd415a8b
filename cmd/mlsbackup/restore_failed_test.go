package main

import (
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/internal/testenv"
	"github.com/mlsbackup/mlsbackup/localstore"
)

// TestFailedRestoreLeavesDataDirAsItWas: a restore that failed (wrong
// identity, unreachable endpoint) left behind an empty, initialised data
// directory where there was none. A restore that imports nothing must leave
// the data directory as it was: absent if it did not exist, empty if it
// was empty, every file unchanged if it held groups.
func TestFailedRestoreLeavesDataDirAsItWas(t *testing.T) {
	f := newRestoreFixture(t)
	f.advance(t, "rg")
	f.upload(t, "rg")
	rg := hex.EncodeToString([]byte("rg"))
	wrongID := filepath.Join(f.dir, "other.txt")
	if code, _, errOut := runCLI(t, "keygen", "--out", wrongID); code != exitOK {
		t.Fatal(errOut)
	}
	// A configuration whose S3 endpoint nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String()
	l.Close()
	unreachable := filepath.Join(f.dir, "unreachable.yaml")
	doc := fmt.Sprintf("data_dir: %s\nclient_name: alice\ndestination:\n  type: s3\n  s3: {bucket: mlsbackup-test, region: us-east-1, endpoint: %s, path_style: true, access_key_id: k, secret_access_key: s, max_attempts: 1}\nencryption:\n  recipients: [%s]\n  identity_file: %s\n",
		f.data, endpoint, f.recipient, f.identity)
	if err := os.WriteFile(unreachable, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	failures := []struct {
		name   string
		args   []string
		stderr string // the failure, not a usage or configuration error
	}{
		{"wrong identity", []string{"--config", f.config, "restore", "--group", rg, "--identity", wrongID}, "--identity FILE"},
		{"wrong identity, all groups", []string{"--config", f.config, "restore", "--all", "--identity", wrongID}, "--identity FILE"},
		{"unreachable endpoint", []string{"--config", unreachable, "restore", "--all"}, "connection refused"},
	}
	states := []struct {
		name    string
		prepare func(t *testing.T)
	}{
		{"holding a group", func(*testing.T) {}},
		{"missing", func(t *testing.T) {
			if err := os.RemoveAll(f.data); err != nil {
				t.Fatal(err)
			}
		}},
		{"empty", func(t *testing.T) {
			if err := os.RemoveAll(f.data); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(f.data, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, st := range states {
		for _, fl := range failures {
			t.Run(st.name+"/"+fl.name, func(t *testing.T) {
				st.prepare(t)
				before := testenv.Tree(t, f.data)
				code, out, errOut := runCLI(t, fl.args...)
				if code != exitFailure || !strings.Contains(errOut, fl.stderr) {
					t.Fatalf("exit %d (want %d), stderr lacks %q\n%s\n%s", code, exitFailure, fl.stderr, out, errOut)
				}
				if after := testenv.Tree(t, f.data); !maps.Equal(before, after) {
					t.Fatalf("the failed restore changed the data directory:\nbefore %v\nafter  %v\n%s\n%s", before, after, out, errOut)
				}
			})
		}
	}
	// The same data directory, missing, is created by a restore that works.
	if err := os.RemoveAll(f.data); err != nil {
		t.Fatal(err)
	}
	mustRun(t, f, []string{"restore", "--group", rg}, exitOK, "holds no data yet", "1 restored")
	if ok, err := localstore.Initialized(fsx.OS{}, f.data); !ok || err != nil {
		t.Fatalf("after a restore that worked the data directory holds data: %v, %v", ok, err)
	}
	if e, restored := f.localGroup(t, "rg"); e != 1 || !restored {
		t.Fatalf("rg after restore: epoch %d restored %v", e, restored)
	}
}
