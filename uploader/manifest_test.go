package uploader

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func testManifest(t *testing.T) Manifest {
	t.Helper()
	ref, err := newLayout("p").newRef([]byte{1, 2, 3}, 42, time.Date(2026, 11, 25, 1, 2, 3, 4, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return Manifest{
		Ref: ref, AgentID: "a", SnapshotFormat: "f/1", EpochAuthenticator: []byte{9, 9},
		PlaintextSize: 10, PlaintextSHA256: [32]byte{1}, CiphertextSize: 20, CiphertextSHA256: [32]byte{2},
	}
}

func TestManifestRoundTrip(t *testing.T) {
	m := testManifest(t)
	data, err := encodeManifest(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, inline, err := decodeManifest(data, m.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if inline != nil {
		t.Errorf("separate-object manifest decoded with inline data %x", inline)
	}
	if !equalManifests(got, m) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, m)
	}
	for _, field := range []string{`"format": "mlsbackup-snapshot-manifest"`, `"version": 1`, `"group_id": "010203"`,
		`"epoch": 42`, `"epoch_authenticator": "0909"`, `"encryption": "age-v1"`, `"object": "snapshot.age"`} {
		if !bytes.Contains(data, []byte(field)) {
			t.Errorf("manifest lacks %s:\n%s", field, data)
		}
	}
}

func TestManifestDecodeRejects(t *testing.T) {
	m := testManifest(t)
	good, err := encodeManifest(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		old, new string
		want     error
	}{
		{"other format", `"mlsbackup-snapshot-manifest"`, `"x"`, ErrBadManifest},
		{"version 2", `"version": 1`, `"version": 2`, ErrBadManifest},
		{"other encryption", `"age-v1"`, `"gpg"`, ErrBadManifest},
		{"bad group hex", `"group_id": "010203"`, `"group_id": "zz"`, ErrBadManifest},
		{"other group", `"group_id": "010203"`, `"group_id": "010204"`, ErrCorrupt},
		{"other epoch", `"epoch": 42`, `"epoch": 43`, ErrCorrupt},
		{"other time", `"created": "2026-11-25T01:02:03.000000004Z"`, `"created": "2026-11-25T01:02:03.000000005Z"`, ErrCorrupt},
		{"short digest", `"sha256": "01`, `"sha256": "`, ErrBadManifest},
		{"negative size", `"size": 10`, `"size": -10`, ErrBadManifest},
		{"truncated", `}`, ``, ErrBadManifest},
	}
	for _, tt := range tests {
		data := bytes.Replace(good, []byte(tt.old), []byte(tt.new), 1)
		if bytes.Equal(data, good) {
			t.Fatalf("%s: %q not found in manifest", tt.name, tt.old)
		}
		if _, _, err := decodeManifest(data, m.Ref); !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
}

func FuzzDecodeManifest(f *testing.F) {
	ref, _ := newLayout("p").newRef([]byte{1}, 1, time.Unix(0, 0))
	good, _ := encodeManifest(Manifest{Ref: ref}, nil)
	inline, _ := encodeManifest(Manifest{Ref: ref.inlined()}, []byte("age"))
	f.Add(good)
	f.Add(inline)
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, _, err := decodeManifest(data, ref)
		if err != nil {
			if !errors.Is(err, ErrBadManifest) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is neither ErrBadManifest nor ErrCorrupt", err)
			}
			return
		}
		if m.Epoch != ref.Epoch || !bytes.Equal(m.GroupID, ref.GroupID) || m.PlaintextSize < 0 {
			t.Fatalf("accepted manifest %+v for ref %+v", m, ref)
		}
	})
}

func TestManifestJSONForOutput(t *testing.T) {
	m := testManifest(t)
	out, err := json.Marshal([]Manifest{m})
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"group_id": "010203", "epoch": 42.0, "key": m.Key, "data_key": m.DataKey, "agent_id": "a"}
	for k, v := range want {
		if got[0][k] != v {
			t.Errorf("%s = %v, want %v", k, got[0][k], v)
		}
	}
	refOut, err := json.Marshal(m.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(refOut, []byte(`"group_id":"010203"`)) || !bytes.Contains(refOut, []byte(`"key":"`+m.Key+`"`)) {
		t.Errorf("ref JSON %s", refOut)
	}
}
