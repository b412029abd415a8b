package uploader

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

func TestVerifyDetectsDamage(t *testing.T) {
	data := randomBytes(t, 150_000)
	tests := []struct {
		name   string
		damage func(obj []byte, other []byte) []byte
		want   error
	}{
		{"bit flip in header", func(o, _ []byte) []byte { o[40] ^= 0x01; return o }, ErrCorrupt},
		{"bit flip in header MAC", func(o, _ []byte) []byte { i := bytes.Index(o, []byte("\n---")) + 8; o[i] ^= 0x04; return o }, ErrCorrupt},
		{"bit flip in payload", func(o, _ []byte) []byte { o[len(o)/2] ^= 0x80; return o }, ErrCorrupt},
		{"bit flip in last byte", func(o, _ []byte) []byte { o[len(o)-1] ^= 0x01; return o }, ErrCorrupt},
		{"truncated by one byte", func(o, _ []byte) []byte { return o[:len(o)-1] }, ErrCorrupt},
		{"truncated at a chunk boundary", func(o, _ []byte) []byte { return o[:len(o)-(150_000-2*ageChunkSize)-ageTagSize] }, ErrCorrupt},
		{"truncated to half", func(o, _ []byte) []byte { return o[:len(o)/2] }, ErrCorrupt},
		{"truncated to nothing", func(o, _ []byte) []byte { return nil }, ErrCorrupt},
		{"trailing garbage", func(o, _ []byte) []byte { return append(o, 0) }, ErrCorrupt},
		{"replaced by another valid snapshot", func(_, other []byte) []byte { return other }, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newMemStore()
			b := newTestBackup(t, store, newTestKeys(t), nil)
			m := mustUpload(t, b, "g", 3, data)
			other := mustUpload(t, b, "g", 4, data)
			store.mutate(m.DataKey, func(o []byte) []byte { return tt.damage(o, store.objs[other.DataKey]) })

			err := b.Verify(context.Background(), m)
			wantErrNaming(t, err, tt.want, m.DataKey)

			dir := t.TempDir()
			path := filepath.Join(dir, "restored.snapshot")
			if err := os.WriteFile(path, []byte("precious local state"), 0o600); err != nil {
				t.Fatal(err)
			}
			err = b.FetchFile(context.Background(), m, path)
			wantErrNaming(t, err, tt.want, m.DataKey)
			got, _ := os.ReadFile(path)
			if string(got) != "precious local state" {
				t.Fatalf("a failed fetch changed the local file to %d bytes", len(got))
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Fatalf("a failed fetch left %d files in the directory, want 1", len(entries))
			}
		})
	}
}

func TestVerifyWrongIdentity(t *testing.T) {
	store := newMemStore()
	k := newTestKeys(t)
	b := newTestBackup(t, store, k, nil)
	m := mustUpload(t, b, "g", 1, []byte("secret group state"))
	other := newTestKeys(t)
	reader := newTestBackup(t, store, other, func(o *Options) { o.Identities = []age.Identity{other.id} })
	err := reader.Verify(context.Background(), m)
	wantErrNaming(t, err, ErrNoIdentity, m.DataKey)
	if errors.Is(err, ErrCorrupt) {
		t.Errorf("wrong identity reported as corruption: %v", err)
	}
	noIDs := newTestBackup(t, store, k, func(o *Options) { o.Identities = nil })
	wantErrNaming(t, noIDs.Verify(context.Background(), m), ErrNoIdentities, m.DataKey)
}

func TestVerifyMissingObject(t *testing.T) {
	store := newMemStore()
	b := newTestBackup(t, store, newTestKeys(t), nil)
	m := mustUpload(t, b, "g", 1, []byte("state"))
	if err := store.Delete(context.Background(), m.DataKey); err != nil {
		t.Fatal(err)
	}
	wantErrNaming(t, b.Verify(context.Background(), m), ErrNotFound, m.DataKey)
}

func TestVerifyRejectsManifestForOtherKey(t *testing.T) {
	store := newMemStore()
	b := newTestBackup(t, store, newTestKeys(t), nil)
	m := mustUpload(t, b, "g", 1, []byte("state"))
	forged := m
	forged.Epoch = 2
	wantErrNaming(t, b.Verify(context.Background(), forged), ErrCorrupt, m.DataKey)
}

func TestListReportsBadManifestsAndKeepsGoodOnes(t *testing.T) {
	k := newTestKeys(t)
	tests := []struct {
		name   string
		mutate func([]byte) []byte
		want   error
	}{
		{"epoch contradicts key, signed", func(b []byte) []byte {
			return editPayload(t, b, k.sk, func(p map[string]any) { p["epoch"] = 9 })
		}, ErrCorrupt},
		{"epoch edited", func(b []byte) []byte {
			return editPayload(t, b, nil, func(p map[string]any) { p["epoch"] = 9 })
		}, ErrBadSignature},
		{"not json", func([]byte) []byte { return []byte("{") }, ErrBadManifest},
		{"future version", func(b []byte) []byte { return bytes.Replace(b, []byte(`"version":3`), []byte(`"version":4`), 1) }, ErrBadManifest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newMemStore()
			b := newTestBackup(t, store, k, nil)
			good := mustUpload(t, b, "g", 1, []byte("one"))
			bad := mustUpload(t, b, "g", 2, []byte("two"))
			store.mutate(bad.Key, tt.mutate)
			ms, err := b.List(context.Background(), []byte("g"))
			wantErrNaming(t, err, tt.want, bad.Key)
			if len(ms) != 1 || ms[0].Key != good.Key {
				t.Fatalf("list returned %d manifests, want only the good one", len(ms))
			}
			if strings.Contains(err.Error(), good.Key) {
				t.Errorf("error names the good manifest: %v", err)
			}
		})
	}
}
