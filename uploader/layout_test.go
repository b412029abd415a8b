package uploader

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLayoutKeys(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 17, 4, 23, 123456789, time.UTC)
	tests := []struct {
		prefix  string
		group   []byte
		epoch   uint64
		wantDir string
	}{
		{"", []byte{0xab, 0x01}, 42, "groups/ab01/00000000000000000042/20261125T170423.123456789Z-"},
		{"/prod/alice/", []byte("g"), 0, "prod/alice/groups/67/00000000000000000000/20261125T170423.123456789Z-"},
		{"p", []byte{0}, ^uint64(0), "p/groups/00/18446744073709551615/20261125T170423.123456789Z-"},
	}
	for _, tt := range tests {
		l := newLayout(tt.prefix)
		ref, err := l.newRef(tt.group, tt.epoch, t0.In(time.FixedZone("x", 3600)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(ref.Key, tt.wantDir) || !strings.HasSuffix(ref.Key, "/manifest.json") {
			t.Errorf("manifest key %s, want %s…/manifest.json", ref.Key, tt.wantDir)
		}
		if strings.TrimSuffix(ref.Key, manifestName) != strings.TrimSuffix(ref.DataKey, dataName) {
			t.Errorf("manifest %s and data %s not in one directory", ref.Key, ref.DataKey)
		}
		for _, key := range []string{ref.Key, ref.DataKey} {
			got, _, ok := l.parseKey(key)
			if !ok || !bytes.Equal(got.GroupID, tt.group) || got.Epoch != tt.epoch || !got.Created.Equal(t0) ||
				got.ID != ref.ID || got.Key != ref.Key || got.DataKey != ref.DataKey {
				t.Errorf("parseKey(%s) = %+v, %v; want %+v", key, got, ok, ref)
			}
		}
	}
}

func TestLayoutKeysSortLikeRefs(t *testing.T) {
	l := newLayout("p")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var refs []Ref
	for _, g := range [][]byte{{0xab}, {0xab, 0x01}, {0x01}, {0xff, 0xff}, {0xab, 0x00}} {
		for _, e := range []uint64{9, 10, 1, 100} {
			for _, d := range []time.Duration{time.Nanosecond, time.Hour, 0} {
				r, err := l.newRef(g, e, t0.Add(d))
				if err != nil {
					t.Fatal(err)
				}
				refs = append(refs, r)
			}
		}
	}
	byKey := slices.Clone(refs)
	slices.SortFunc(byKey, func(a, b Ref) int { return strings.Compare(a.Key, b.Key) })
	byRef := slices.Clone(refs)
	slices.SortFunc(byRef, compareRefs)
	for i := range byKey {
		if byKey[i].Key != byRef[i].Key {
			t.Fatalf("position %d: key order %s, ref order %s", i, byKey[i].Key, byRef[i].Key)
		}
	}
}

func TestParseKeyRejects(t *testing.T) {
	l := newLayout("p")
	const good = "p/groups/ab/00000000000000000001/20261125T170423.000000000Z-0123456789abcdef/manifest.json"
	if _, _, ok := l.parseKey(good); !ok {
		t.Fatalf("good key %s rejected", good)
	}
	bad := []string{
		"q/groups/ab/00000000000000000001/20261125T170423.000000000Z-0123456789abcdef/manifest.json",
		"p/groups/AB/00000000000000000001/20261125T170423.000000000Z-0123456789abcdef/manifest.json",
		"p/groups//00000000000000000001/20261125T170423.000000000Z-0123456789abcdef/manifest.json",
		"p/groups/abc/00000000000000000001/20261125T170423.000000000Z-0123456789abcdef/manifest.json",
		"p/groups/ab/1/20261125T170423.000000000Z-0123456789abcdef/manifest.json",
		"p/groups/ab/0000000000000000000x/20261125T170423.000000000Z-0123456789abcdef/manifest.json",
		"p/groups/ab/99999999999999999999/20261125T170423.000000000Z-0123456789abcdef/manifest.json",
		"p/groups/ab/00000000000000000001/20261125T170423Z-0123456789abcdef/manifest.json",
		"p/groups/ab/00000000000000000001/20261125T170423.000000000Z-0123456789ABCDEF/manifest.json",
		"p/groups/ab/00000000000000000001/20261125T170423.000000000Z-01234567/manifest.json",
		"p/groups/ab/00000000000000000001/20261125T170423.000000000Z/manifest.json",
		"p/groups/ab/00000000000000000001/manifest.json",
		"p/groups/ab/00000000000000000001/20261125T170423.000000000Z-0123456789abcdef/x/manifest.json",
	}
	for _, k := range bad {
		if _, _, ok := l.parseKey(k); ok {
			t.Errorf("parseKey accepted %s", k)
		}
	}
}

func FuzzParseKey(f *testing.F) {
	f.Add("p/groups/ab/00000000000000000001/20261125T170423.000000000Z-0123456789abcdef/manifest.json")
	f.Add("p/groups/x")
	l := newLayout("p")
	f.Fuzz(func(t *testing.T, key string) {
		ref, file, ok := l.parseKey(key)
		if !ok {
			return
		}
		// Whatever parses must be exactly the key the layout would build.
		dir := l.join(groupsDir, ref.GroupHex(), strings.Repeat("0", 20-len(uitoa(ref.Epoch)))+uitoa(ref.Epoch), ref.ID)
		if dir+"/"+file != key || ref.Created.Format(createdLayout)+"-" != ref.ID[:len(createdLayout)+1] {
			t.Fatalf("parseKey(%q) = %+v, rebuilt %s/%s", key, ref, dir, file)
		}
	})
}

func uitoa(u uint64) string {
	if u == 0 {
		return "0"
	}
	var b []byte
	for ; u > 0; u /= 10 {
		b = append([]byte{byte('0' + u%10)}, b...)
	}
	return string(b)
}
