package uploader_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/dirstore"
)

// backend opens a fresh, empty object store for one test.
type backend struct {
	name string
	open func(t *testing.T) uploader.ObjectStore
}

func dirBackend() backend {
	return backend{"dir", func(t *testing.T) uploader.ObjectStore {
		s, err := dirstore.New(filepath.Join(t.TempDir(), "bucket"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}}
}

// forEachBackend runs f against every object store implementation.
func forEachBackend(t *testing.T, f func(t *testing.T, store uploader.ObjectStore)) {
	for _, b := range allBackends() {
		t.Run(b.name, func(t *testing.T) { f(t, b.open(t)) })
	}
}

// keyPair is an identity file written by GenerateIdentity, naming the
// signer of a signing key written beside it, and its parsed recipient,
// identities and keys.
type keyPair struct {
	identityPath string
	recipient    string
	recs         []age.Recipient
	ids          []age.Identity
	sk           *uploader.SigningKey
}

func newKeyPair(t *testing.T) keyPair {
	t.Helper()
	path := filepath.Join(t.TempDir(), "identity.txt")
	signer, err := uploader.GenerateSigningKeyFile(fsx.OS{}, path+".signing-key", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sk, err := uploader.ReadSigningKeyFile(path + ".signing-key")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := uploader.GenerateIdentity(fsx.OS{}, path, time.Now(), signer)
	if err != nil {
		t.Fatal(err)
	}
	r, err := uploader.ParseRecipient(rec)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := uploader.ReadIdentitiesFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{identityPath: path, recipient: rec, recs: []age.Recipient{r}, ids: ids, sk: sk}
}

func newBackup(t *testing.T, store uploader.ObjectStore, k keyPair, agent string, mods ...func(*uploader.Options)) *uploader.Backup {
	t.Helper()
	opts := uploader.Options{
		Prefix: "e2e", Recipients: k.recs, Identities: k.ids, AgentID: agent, SigningKey: k.sk,
	}
	for _, mod := range mods {
		mod(&opts)
	}
	b, err := uploader.New(store, opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// markerSnapshot returns n bytes made of a recognisable plaintext marker.
func markerSnapshot(marker string, n int) []byte {
	var buf bytes.Buffer
	for buf.Len() < n {
		buf.WriteString(marker)
	}
	return buf.Bytes()[:n]
}

func upload(t *testing.T, b *uploader.Backup, group string, epoch uint64, data []byte) uploader.Manifest {
	t.Helper()
	m, err := b.Upload(t.Context(), uploader.SnapshotMeta{
		GroupID: []byte(group), Epoch: epoch, Size: int64(len(data)), Format: "e2e/1",
	}, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("upload %s epoch %d: %v", group, epoch, err)
	}
	return m
}

// withInline stores small snapshots inline.
func withInline(o *uploader.Options) { o.InlineMax = uploader.DefaultInlineMax }

func TestEndToEnd(t *testing.T) {
	forEachBackend(t, func(t *testing.T, store uploader.ObjectStore) {
		for _, inline := range []bool{false, true} {
			t.Run(fmt.Sprintf("inline=%v", inline), func(t *testing.T) { testEndToEnd(t, store, inline) })
		}
	})
}

func testEndToEnd(t *testing.T, store uploader.ObjectStore, inline bool) {
	ctx := t.Context()
	k := newKeyPair(t)
	prefix := fmt.Sprintf("e2e-inline-%v", inline)
	b := newBackup(t, store, k, "agent-e2e", func(o *uploader.Options) {
		o.Prefix = prefix
		if inline {
			withInline(o)
		}
	})
	snapshots := map[uint64][]byte{}
	for e, n := range []int{10, 70_000, 1 << 20} {
		snapshots[uint64(e+1)] = markerSnapshot(fmt.Sprintf("epoch-%d-state;", e+1), n)
		upload(t, b, "group-a", uint64(e+1), snapshots[uint64(e+1)])
	}
	upload(t, b, "group-b", 9, []byte("b"))

	ms, err := b.List(ctx, nil)
	if err != nil || len(ms) != 4 {
		t.Fatalf("list: %d manifests, %v; want 4", len(ms), err)
	}
	latest, err := b.ListLatest(ctx)
	if err != nil || len(latest) != 2 || latest[0].Epoch != 3 || latest[1].Epoch != 9 {
		t.Fatalf("list latest: %+v, %v", latest, err)
	}
	for _, m := range ms {
		if err := b.Verify(ctx, m); err != nil {
			t.Errorf("verify %s: %v", m.Key, err)
		}
	}
	m, err := uploader.SelectEpoch(ms, []byte("group-a"), 2)
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.ManifestAt(ctx, m.Key)
	if err != nil || again.CiphertextSHA256 != m.CiphertextSHA256 {
		t.Fatalf("manifest at %s: %v", m.Key, err)
	}
	out := filepath.Join(t.TempDir(), "restored")
	if err := b.FetchFile(ctx, m, out); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, snapshots[2]) {
		t.Fatalf("fetched %d bytes, want the %d uploaded", len(got), len(snapshots[2]))
	}
	rep, err := b.Prune(ctx, uploader.Retention{KeepLast: 1}, false)
	if err != nil || len(rep.Deleted) != 2 {
		t.Fatalf("prune: %+v, %v", rep, err)
	}
	if ms, err := b.List(ctx, nil); err != nil || len(ms) != 2 {
		t.Fatalf("list after prune: %d, %v", len(ms), err)
	}
	objs, err := store.List(ctx, prefix+"/")
	if err != nil {
		t.Fatal(err)
	}
	// Lease, group-a epoch 3 (1 MiB: two objects), group-b (one byte:
	// inline or two objects).
	want := 5
	if inline {
		want = 4
	}
	if len(objs) != want {
		t.Errorf("after prune %d objects, want %d: %+v", len(objs), want, objs)
	}
}

func TestDamagedObjectsFailClearly(t *testing.T) {
	damages := []struct {
		name string
		f    func([]byte) []byte
	}{
		{"bit flip", func(b []byte) []byte { b[len(b)/2] ^= 0x10; return b }},
		{"truncated", func(b []byte) []byte { return b[:len(b)-100] }},
	}
	forEachBackend(t, func(t *testing.T, store uploader.ObjectStore) {
		ctx := t.Context()
		k := newKeyPair(t)
		b := newBackup(t, store, k, "agent-e2e")
		for _, d := range damages {
			m := upload(t, b, "g-"+d.name, 1, markerSnapshot("state", 200_000))
			rewrite(t, store, m.DataKey, d.f)
			local := filepath.Join(t.TempDir(), "local")
			if err := os.WriteFile(local, []byte("keep me"), 0o600); err != nil {
				t.Fatal(err)
			}
			err := b.FetchFile(ctx, m, local)
			if !errors.Is(err, uploader.ErrCorrupt) || !strings.Contains(err.Error(), m.DataKey) {
				t.Errorf("%s: fetch error %v, want ErrCorrupt naming %s", d.name, err, m.DataKey)
			}
			if got, _ := os.ReadFile(local); string(got) != "keep me" {
				t.Errorf("%s: local file overwritten", d.name)
			}
		}
		// Wrong identity.
		m := upload(t, b, "g-wrong-id", 1, []byte("state"))
		other := newKeyPair(t)
		err := newBackup(t, store, other, "agent-e2e").Verify(ctx, m)
		if !errors.Is(err, uploader.ErrNoIdentity) || !strings.Contains(err.Error(), m.DataKey) {
			t.Errorf("wrong identity: %v, want ErrNoIdentity naming %s", err, m.DataKey)
		}
	})
}

// rewrite replaces the object at key with f(its bytes).
func rewrite(t *testing.T, store uploader.ObjectStore, key string, f func([]byte) []byte) {
	t.Helper()
	ctx := context.Background()
	rc, err := store.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	data = f(data)
	if err := store.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := store.Put(ctx, key, bytes.NewReader(data), int64(len(data)), false); err != nil {
		t.Fatal(err)
	}
}

func TestNoPlaintextAtRest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, store uploader.ObjectStore) {
		ctx := t.Context()
		k := newKeyPair(t)
		b := newBackup(t, store, k, "agent-e2e")
		var markers []string
		for i, n := range []int{40, 5_000, 65_536, 300_000, 2 << 20} {
			marker := fmt.Sprintf("PLAINTEXT-MARKER-%d-7f3a9c", i)
			markers = append(markers, marker)
			upload(t, b, fmt.Sprintf("group-%d", i), uint64(i), markerSnapshot(marker, n))
		}
		// Small snapshots stored inline, under a second prefix.
		bi := newBackup(t, store, k, "agent-e2e-inline", func(o *uploader.Options) { o.Prefix = "e2e-inline"; withInline(o) })
		inlined := 0
		for i, n := range []int{40, 5_000} {
			marker := fmt.Sprintf("PLAINTEXT-MARKER-INLINE-%d-7f3a9c", i)
			markers = append(markers, marker)
			if m := upload(t, bi, fmt.Sprintf("group-%d", i), uint64(i), markerSnapshot(marker, n)); m.Inline() {
				inlined++
			}
		}
		if inlined != 2 {
			t.Fatalf("%d of 2 small snapshots stored inline", inlined)
		}
		objs, err := store.List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		// Every snapshot has a data object and a manifest, plus the lease;
		// an inline one only its manifest.
		if want := 2*(len(markers)-inlined) + inlined + 2; len(objs) != want {
			t.Fatalf("bucket holds %d objects, want %d", len(objs), want)
		}
		for _, o := range objs {
			rc, err := store.Get(ctx, o.Key)
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			for _, marker := range markers {
				// The marker is 26 bytes; any 12-byte piece of it would show.
				for _, piece := range []string{marker, marker[:12], marker[len(marker)-12:]} {
					if bytes.Contains(data, []byte(piece)) {
						t.Errorf("object %s contains plaintext %q", o.Key, piece)
					}
				}
			}
		}
		if len(markers) == 0 {
			t.Fatal("no markers uploaded")
		}
	})
}
