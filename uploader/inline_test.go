package uploader

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"
)

// emptyCiphertextSize is the size of the age file of an empty snapshot to
// the keys' one X25519 recipient: header, nonce and one empty chunk. A
// snapshot of n < 64 KiB bytes encrypts to this plus n.
func emptyCiphertextSize(t *testing.T, k testKeys) int64 {
	t.Helper()
	b := newTestBackup(t, newMemStore(), k, nil)
	return mustUpload(t, b, "g", 1, nil).CiphertextSize
}

// countPuts makes store count its Put calls.
func countPuts(store *memStore) *atomic.Int64 {
	var n atomic.Int64
	store.failPut = func(string) error { n.Add(1); return nil }
	return &n
}

func TestInlineUploadRoundTrip(t *testing.T) {
	k := newTestKeys(t)
	limit := emptyCiphertextSize(t, k) + 1000 // plaintexts of up to 1000 bytes fit
	tests := []struct {
		n      int
		max    int64
		inline bool
	}{
		{0, limit, true},
		{1, limit, true},
		{1000, limit, true},
		{1001, limit, false},
		{ageChunkSize + 1, limit, false},
		{200_000, limit, false},
		{2048, DefaultInlineMax, true},
		{MaxInline - 200, DefaultInlineMax, true},
		{MaxInline, DefaultInlineMax, false},
		{2048, 0, false},
	}
	for _, tt := range tests {
		for _, known := range []bool{true, false} {
			store := newMemStore()
			puts := countPuts(store)
			b := newTestBackup(t, store, k, func(o *Options) { o.InlineMax = tt.max })
			if _, err := b.AcquireLease(context.Background()); err != nil {
				t.Fatal(err)
			}
			puts.Store(0)
			data := randomBytes(t, tt.n)
			meta := SnapshotMeta{GroupID: []byte("group-1"), Epoch: 7, Format: "test/1"}
			if known {
				meta.Size = int64(tt.n)
			}
			name := func() string { return fmt.Sprintf("size %d max %d known %v", tt.n, tt.max, known) }
			m, err := b.Upload(context.Background(), meta, iotest.HalfReader(bytes.NewReader(data)))
			if err != nil {
				t.Fatalf("%s: upload: %v", name(), err)
			}
			wantKeys := []string{b.layout.leaseKey(), m.Key}
			wantPuts := int64(1)
			if !tt.inline {
				wantKeys = append(wantKeys, m.DataKey)
				wantPuts = 2
			}
			slices.Sort(wantKeys)
			if got := m.Inline(); got != tt.inline {
				t.Errorf("%s: inline = %v, want %v", name(), got, tt.inline)
			}
			if got := store.keys(); !slices.Equal(got, wantKeys) {
				t.Errorf("%s: objects %q, want %q", name(), got, wantKeys)
			}
			if got := puts.Load(); got != wantPuts {
				t.Errorf("%s: %d puts, want %d", name(), got, wantPuts)
			}
			if tt.inline && (!strings.HasSuffix(m.Key, "/"+inlineName) || m.DataKey != "") {
				t.Errorf("%s: inline snapshot keys %q and %q", name(), m.Key, m.DataKey)
			}
			ms, err := b.List(context.Background(), nil)
			if err != nil || len(ms) != 1 {
				t.Fatalf("%s: list = %d manifests, %v; want 1", name(), len(ms), err)
			}
			if !equalManifests(ms[0], m) {
				t.Errorf("%s: listed manifest\n%+v\nwant\n%+v", name(), ms[0], m)
			}
			if err := b.Verify(context.Background(), ms[0]); err != nil {
				t.Errorf("%s: verify: %v", name(), err)
			}
			var out bytes.Buffer
			if err := b.Fetch(context.Background(), ms[0], &out); err != nil {
				t.Fatalf("%s: fetch: %v", name(), err)
			}
			if !bytes.Equal(out.Bytes(), data) {
				t.Errorf("%s: fetched %d bytes differ from the %d uploaded", name(), out.Len(), len(data))
			}
			if got, err := b.ManifestAt(context.Background(), m.Key); err != nil || !equalManifests(got, m) {
				t.Errorf("%s: ManifestAt(%s) = %+v, %v", name(), m.Key, got, err)
			}
		}
	}
}

// editInline rewrites the age file inside the inline manifest under key.
func editInline(t *testing.T, store *memStore, key string, f func(ct []byte) []byte) {
	t.Helper()
	store.mutate(key, func(o []byte) []byte {
		var w map[string]any
		if err := json.Unmarshal(o, &w); err != nil {
			t.Fatal(err)
		}
		var ct []byte
		if err := json.Unmarshal([]byte(`"`+w["inline"].(string)+`"`), &ct); err != nil {
			t.Fatal(err)
		}
		w["inline"] = f(ct)
		out, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		return out
	})
}

func TestInlineVerifyDetectsDamage(t *testing.T) {
	data := randomBytes(t, 3000)
	tests := []struct {
		name   string
		damage func(store *memStore, key, otherKey string)
		want   error
	}{
		{"bit flip in header", func(s *memStore, key, _ string) {
			editInline(t, s, key, func(ct []byte) []byte { ct[40] ^= 0x01; return ct })
		}, ErrCorrupt},
		{"bit flip in payload", func(s *memStore, key, _ string) {
			editInline(t, s, key, func(ct []byte) []byte { ct[len(ct)-100] ^= 0x80; return ct })
		}, ErrCorrupt},
		{"bit flip in last byte", func(s *memStore, key, _ string) {
			editInline(t, s, key, func(ct []byte) []byte { ct[len(ct)-1] ^= 0x01; return ct })
		}, ErrCorrupt},
		{"truncated", func(s *memStore, key, _ string) {
			editInline(t, s, key, func(ct []byte) []byte { return ct[:len(ct)-1] })
		}, ErrCorrupt},
		{"trailing garbage", func(s *memStore, key, _ string) {
			editInline(t, s, key, func(ct []byte) []byte { return append(ct, 0) })
		}, ErrCorrupt},
		{"replaced by another valid snapshot", func(s *memStore, key, other string) {
			s.mutate(key, func([]byte) []byte { return bytes.Clone(s.objs[other]) })
		}, ErrCorrupt},
		{"manifest truncated", func(s *memStore, key, _ string) {
			s.mutate(key, func(o []byte) []byte { return o[:len(o)/2] })
		}, ErrBadManifest},
		{"inline data removed", func(s *memStore, key, _ string) {
			s.mutate(key, func(o []byte) []byte {
				var w map[string]any
				_ = json.Unmarshal(o, &w)
				delete(w, "inline")
				out, _ := json.Marshal(w)
				return out
			})
		}, ErrBadManifest},
		{"manifest deleted", func(s *memStore, key, _ string) { _ = s.Delete(context.Background(), key) }, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newMemStore()
			b := newTestBackup(t, store, newTestKeys(t), func(o *Options) { o.InlineMax = DefaultInlineMax })
			m := mustUpload(t, b, "g", 3, data)
			other := mustUpload(t, b, "g", 3, data)
			if !m.Inline() || !other.Inline() {
				t.Fatal("3000-byte snapshots were not stored inline")
			}
			tt.damage(store, m.Key, other.Key)

			err := b.Verify(context.Background(), m)
			wantErrNaming(t, err, tt.want, m.Key)

			dir := t.TempDir()
			path := filepath.Join(dir, "restored.snapshot")
			if err := os.WriteFile(path, []byte("precious local state"), 0o600); err != nil {
				t.Fatal(err)
			}
			err = b.FetchFile(context.Background(), m, path)
			wantErrNaming(t, err, tt.want, m.Key)
			if got, _ := os.ReadFile(path); string(got) != "precious local state" {
				t.Fatalf("a failed fetch changed the local file to %d bytes", len(got))
			}
		})
	}
}

func TestInlineManifestDecodeRejectsWrongName(t *testing.T) {
	m := testManifest(t)
	classic, err := encodeManifest(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	im := m
	im.Ref = m.Ref.inlined()
	inline, err := encodeManifest(im, []byte("age file"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		ref  Ref
		want error
	}{
		{"separate-object manifest named snapshot.json", classic, im.Ref, ErrBadManifest},
		{"inline manifest named manifest.json", inline, m.Ref, ErrBadManifest},
	}
	for _, tt := range tests {
		if _, _, err := decodeManifest(tt.data, tt.ref); !errorsIs(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
	got, ct, err := decodeManifest(inline, im.Ref)
	if err != nil || string(ct) != "age file" || !got.Inline() {
		t.Errorf("inline manifest: %+v, %q, %v", got, ct, err)
	}
	for _, field := range []string{`"version": 2`, `"inline": "`} {
		if !bytes.Contains(inline, []byte(field)) {
			t.Errorf("inline manifest lacks %s:\n%s", field, inline)
		}
	}
	if bytes.Contains(inline, []byte(`"object"`)) {
		t.Errorf("inline manifest names an object:\n%s", inline)
	}
}

// TestInlineAndSeparateMix: a backup set written before inlining (or with
// it off) and after it lists, verifies, fetches and prunes both kinds.
func TestInlineAndSeparateMix(t *testing.T) {
	store := newMemStore()
	clock := newFakeClock()
	k := newTestKeys(t)
	old := newTestBackup(t, store, k, func(o *Options) { o.Now = clock.Now })
	cur := newTestBackup(t, store, k, func(o *Options) { o.Now = clock.Now; o.InlineMax = DefaultInlineMax })
	var want []Manifest
	for e := uint64(1); e <= 6; e++ {
		clock.Advance(time.Hour)
		b := old
		if e%2 == 0 {
			b = cur
		}
		want = append(want, mustUpload(t, b, "g", e, []byte{byte(e)}))
		if got := want[len(want)-1].Inline(); got != (e%2 == 0) {
			t.Fatalf("epoch %d: inline = %v", e, got)
		}
	}
	ms, err := cur.List(context.Background(), nil)
	if err != nil || len(ms) != len(want) {
		t.Fatalf("list: %d manifests, %v", len(ms), err)
	}
	for i, m := range ms {
		if !equalManifests(m, want[i]) {
			t.Errorf("listed %d: %+v, want %+v", i, m, want[i])
		}
		var out bytes.Buffer
		if err := cur.Fetch(context.Background(), m, &out); err != nil || !bytes.Equal(out.Bytes(), []byte{byte(m.Epoch)}) {
			t.Errorf("fetch epoch %d: %x, %v", m.Epoch, out.Bytes(), err)
		}
	}
	clock.Advance(time.Minute)
	rep, err := cur.Prune(context.Background(), Retention{KeepLast: 3}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Deleted) != 3 || len(rep.Orphans) != 0 || len(rep.Unknown) != 0 || len(rep.YoungOrphans) != 0 {
		t.Errorf("prune report %+v", rep)
	}
	var keys []string
	for _, m := range want[3:] {
		keys = append(keys, m.Key)
		if !m.Inline() {
			keys = append(keys, m.DataKey)
		}
	}
	keys = append(keys, cur.layout.leaseKey())
	slices.Sort(keys)
	if got := store.keys(); !slices.Equal(got, keys) {
		t.Errorf("after prune: objects\n%q\nwant\n%q", got, keys)
	}
}

// TestPruneInlineNewestNeedsNoOlderData: an inline newest snapshot has its
// data, so KeepLast 1 keeps it alone.
func TestPruneInlineNewestNeedsNoOlderData(t *testing.T) {
	store := newMemStore()
	clock := newFakeClock()
	k := newTestKeys(t)
	old := newTestBackup(t, store, k, func(o *Options) { o.Now = clock.Now })
	cur := newTestBackup(t, store, k, func(o *Options) { o.Now = clock.Now; o.InlineMax = DefaultInlineMax })
	clock.Advance(time.Hour)
	mustUpload(t, old, "g", 1, []byte("one"))
	clock.Advance(time.Hour)
	mustUpload(t, cur, "g", 2, []byte("two"))
	rep, err := cur.Prune(context.Background(), Retention{KeepLast: 1}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Kept) != 1 || rep.Kept[0].Epoch != 2 || len(rep.Deleted) != 1 || rep.Deleted[0].Epoch != 1 {
		t.Errorf("kept %+v deleted %+v, want epoch 2 kept and 1 deleted", rep.Kept, rep.Deleted)
	}
}

func TestInlineMaxValidated(t *testing.T) {
	for _, tt := range []struct {
		max int64
		ok  bool
	}{{-1, false}, {0, true}, {1, true}, {MaxInline, true}, {MaxInline + 1, false}} {
		_, err := New(newMemStore(), Options{InlineMax: tt.max})
		if (err == nil) != tt.ok {
			t.Errorf("InlineMax %d: error %v, want ok %v", tt.max, err, tt.ok)
		}
	}
}

// TestInlineUploadLogNamesManifestKey: the "uploaded snapshot" log line
// names the objects really written: an inline snapshot's one object
// (snapshot.json, not a manifest.json that does not exist), and both
// objects of a separate one.
func TestInlineUploadLogNamesManifestKey(t *testing.T) {
	k := newTestKeys(t)
	for _, tt := range []struct {
		max  int64
		want []string // file names of the logged keys
	}{
		{DefaultInlineMax, []string{"key=" + inlineName}},
		{0, []string{"key=" + manifestName, "data_key=" + dataName}},
	} {
		var logged bytes.Buffer
		store := newMemStore()
		b := newTestBackup(t, store, k, func(o *Options) {
			o.InlineMax = tt.max
			o.Logger = slog.New(slog.NewTextHandler(&logged, nil))
		})
		m := mustUpload(t, b, "g", 3, []byte("small snapshot"))
		var line string
		for _, l := range strings.Split(logged.String(), "\n") {
			if strings.Contains(l, `msg="uploaded snapshot"`) {
				line = l
			}
		}
		var got []string
		for _, f := range strings.Fields(line) {
			if name, value, ok := strings.Cut(f, "="); ok && (name == "key" || name == "data_key") {
				if _, err := store.Stat(context.Background(), value); err != nil {
					t.Errorf("inline max %d: logged %s=%s, which is not stored: %v", tt.max, name, value, err)
				}
				got = append(got, name+"="+value[strings.LastIndexByte(value, '/')+1:])
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("inline max %d (inline %v): log line %q names %v, want %v", tt.max, m.Inline(), line, got, tt.want)
		}
	}
}
