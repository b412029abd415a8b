package uploader

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

// TestSignedManifestFormat: an upload is a signed envelope whose payload
// names its prefix, key, place in the chain and every field of version 1;
// reading it back verifies the signature and returns the chain fields.
func TestSignedManifestFormat(t *testing.T) {
	for _, inline := range []bool{false, true} {
		store := newMemStore()
		k := newTestKeys(t)
		b := newTestBackup(t, store, k, func(o *Options) {
			if inline {
				o.InlineMax = DefaultInlineMax
			}
		})
		first := mustUpload(t, b, "g", 1, []byte("one"))
		m := mustUpload(t, b, "g", 2, []byte("two"))
		if m.Inline() != inline || !m.Signed() || m.Signer != k.sk.Public() || m.Sequence != first.Sequence+1 ||
			m.Prev == nil || *m.Prev != first.link() || first.Prev != nil {
			t.Fatalf("inline %v: uploaded %+v after %+v, want signed, the next sequence, linked to the first", inline, m, first)
		}
		var env map[string]any
		if err := json.Unmarshal(store.objs[m.Key], &env); err != nil {
			t.Fatal(err)
		}
		if env["format"] != EnvelopeFormat || env["version"] != 3.0 || env["signer"] != k.sk.Public().String() || (env["inline"] != nil) != inline {
			t.Errorf("envelope %v", env)
		}
		var w wireEnvelope
		_ = json.Unmarshal(store.objs[m.Key], &w)
		for _, field := range []string{`"format":"mlsbackup-snapshot-manifest"`, `"version":3`, `"prefix":"test/prefix"`,
			`"key":"` + b.layout.rel(m.Key) + `"`, `"sequence":2`, `"prev":{"sequence":1,`, `"head":0`} {
			if !bytes.Contains(w.Payload, []byte(field)) {
				t.Errorf("payload lacks %s:\n%s", field, w.Payload)
			}
		}
		got, err := b.ReadManifest(context.Background(), m.Ref)
		if err != nil {
			t.Fatal(err)
		}
		if !equalManifests(got, m) || got.Signer != m.Signer || got.Sequence != m.Sequence || *got.Prev != *m.Prev || got.PayloadSHA256 != m.PayloadSHA256 {
			t.Errorf("read back %+v, want %+v", got, m)
		}
		if err := b.Verify(context.Background(), got); err != nil {
			t.Error(err)
		}
	}
}

// TestSignedManifestRejects: every edit of a signed manifest fails the
// check that guards it, naming the object.
func TestSignedManifestRejects(t *testing.T) {
	k := newTestKeys(t)
	stranger := newTestSigningKey(t)
	ctx := context.Background()
	payloadFields := []string{"format", "version", "prefix", "key", "group_id", "epoch", "created", "id", "agent_id",
		"snapshot_format", "epoch_authenticator", "encryption", "object", "plaintext", "ciphertext", "sequence", "prev", "head"}
	type tamper struct {
		name  string
		edit  func(t *testing.T, obj []byte) []byte
		check Check
		want  error
	}
	var tests []tamper
	for _, f := range payloadFields {
		tests = append(tests, tamper{"edit payload " + f, func(t *testing.T, obj []byte) []byte {
			return editPayload(t, obj, nil, func(p map[string]any) { p[f] = "x" })
		}, CheckSignature, ErrBadSignature})
	}
	envelope := func(edit func(map[string]any)) func(t *testing.T, obj []byte) []byte {
		return func(t *testing.T, obj []byte) []byte {
			var env map[string]any
			if err := json.Unmarshal(obj, &env); err != nil {
				t.Fatal(err)
			}
			edit(env)
			out, _ := json.Marshal(env)
			return out
		}
	}
	tests = append(tests,
		tamper{"flip signature", envelope(func(e map[string]any) {
			s := []byte(e["signature"].(string))
			s[3] = map[bool]byte{true: 'B', false: 'A'}[s[3] == 'A']
			e["signature"] = string(s)
		}), CheckSignature, ErrBadSignature},
		tamper{"untrusted signer named", envelope(func(e map[string]any) { e["signer"] = stranger.Public().String() }), CheckSigner, ErrUntrustedSigner},
		tamper{"signed again by a stranger", func(t *testing.T, obj []byte) []byte {
			return editPayload(t, obj, stranger, func(map[string]any) {})
		}, CheckSigner, ErrUntrustedSigner},
		tamper{"moved, signed again", func(t *testing.T, obj []byte) []byte {
			return editPayload(t, obj, k.sk, func(p map[string]any) { p["key"] = "groups/67/elsewhere/manifest.json" })
		}, CheckLocation, ErrCorrupt},
		tamper{"other prefix, signed again", func(t *testing.T, obj []byte) []byte {
			return editPayload(t, obj, k.sk, func(p map[string]any) { p["prefix"] = "other" })
		}, CheckLocation, ErrCorrupt},
		tamper{"other epoch, signed again", func(t *testing.T, obj []byte) []byte {
			return editPayload(t, obj, k.sk, func(p map[string]any) { p["epoch"] = 7 })
		}, CheckLocation, ErrCorrupt},
		tamper{"payload not JSON, signed again", func(t *testing.T, obj []byte) []byte {
			var w wireEnvelope
			_ = json.Unmarshal(obj, &w)
			w.Payload = []byte("[1]")
			w.Signature = k.sk.sign(w.Payload)
			out, _ := json.Marshal(w)
			return out
		}, CheckPayload, ErrBadManifest},
		tamper{"future version", envelope(func(e map[string]any) { e["version"] = 4 }), CheckEnvelope, ErrBadManifest},
		tamper{"truncated", func(_ *testing.T, obj []byte) []byte { return obj[:len(obj)/2] }, CheckEnvelope, ErrBadManifest},
		tamper{"unsigned", func(t *testing.T, obj []byte) []byte {
			m, _, err := newTestBackup(t, newMemStore(), k, nil).codec.decode(obj, mustRef(t, obj))
			if err != nil {
				t.Fatal(err)
			}
			out, _ := encodeManifest(m, nil)
			return out
		}, CheckSigned, ErrUnsigned},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newMemStore()
			b := newTestBackup(t, store, k, nil)
			m := mustUpload(t, b, "g", 1, []byte("state"))
			store.mutate(m.Key, func(o []byte) []byte { return tt.edit(t, o) })
			_, err := b.ReadManifest(ctx, m.Ref)
			wantErrNaming(t, err, tt.want, m.Key)
			if got := FailedCheck(err); got != tt.check {
				t.Errorf("failed check %q, want %q (%v)", got, tt.check, err)
			}
		})
	}
}

// mustRef returns the ref of the key a signed object's payload names, in
// the test backup's prefix.
func mustRef(t *testing.T, obj []byte) Ref {
	t.Helper()
	var w wireEnvelope
	var p wirePayload
	if err := json.Unmarshal(obj, &w); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(w.Payload, &p); err != nil {
		t.Fatal(err)
	}
	ref, _, ok := newLayout(p.Prefix).parseKey(p.Prefix + "/" + p.Key)
	if !ok {
		t.Fatalf("payload key %q", p.Key)
	}
	return ref
}

// TestUploadNeedsSigningKey: without a signing key Upload refuses, unless
// AllowUnsigned; then it writes the unsigned format of version 1, which
// readers accept only with AllowUnsigned.
func TestUploadNeedsSigningKey(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	k := newTestKeys(t)
	b := newTestBackup(t, store, k, func(o *Options) { o.SigningKey = nil })
	if _, err := b.Upload(ctx, SnapshotMeta{GroupID: []byte("g"), Epoch: 1}, bytes.NewReader([]byte("x"))); !errors.Is(err, ErrNoSigningKey) {
		t.Fatalf("upload without a key: %v, want ErrNoSigningKey", err)
	}
	if len(store.objs) != 0 {
		t.Fatalf("a refused upload wrote %d objects", len(store.objs))
	}
	unsigned := newTestBackup(t, store, k, func(o *Options) { o.SigningKey, o.AllowUnsigned = nil, true })
	m := mustUpload(t, unsigned, "g", 1, []byte("state"))
	if m.Signed() || !bytes.Contains(store.objs[m.Key], []byte(`"version": 1`)) {
		t.Fatalf("allow-unsigned upload: %+v\n%s", m, store.objs[m.Key])
	}
	if _, err := b.ReadManifest(ctx, m.Ref); !errors.Is(err, ErrUnsigned) {
		t.Errorf("reading it without AllowUnsigned: %v, want ErrUnsigned", err)
	}
	if _, err := unsigned.ReadManifest(ctx, m.Ref); err != nil {
		t.Errorf("reading it with AllowUnsigned: %v", err)
	}
}

func FuzzDecodeSigned(f *testing.F) {
	k, err := GenerateSigningKey()
	if err != nil {
		f.Fatal(err)
	}
	l := newLayout("p")
	ref, _ := l.newRef([]byte{1}, 1, newFakeClock().Now())
	c := codec{layout: l, key: k, trusted: []Signer{k.Public()}}
	m := Manifest{Ref: ref, Sequence: 2, Prev: &Link{Sequence: 1}}
	good, err := c.encode(&m, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"format":"mlsbackup-signed","version":3}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, _, err := c.decode(data, ref)
		if err != nil {
			if FailedCheck(err) == "" {
				t.Fatalf("error %v names no check", err)
			}
			return
		}
		if !got.Signed() || got.Epoch != ref.Epoch || !bytes.Equal(got.GroupID, ref.GroupID) || got.Sequence == 0 {
			t.Fatalf("accepted manifest %+v for ref %+v", got, ref)
		}
	})
}

// BenchmarkManifestCodec measures, per manifest, what signing adds to
// writing one (encode: payload, signature, envelope) and checking adds to
// reading one (decode: signature, payload; under a head that names it, as
// restore --all reads the newest ones, without the signature), against
// the unsigned format, for an inline snapshot of 3 KiB (a 10-member
// group's, as in BenchmarkScale):
//
//	go test ./uploader -run '^$' -bench BenchmarkManifestCodec -count 5
func BenchmarkManifestCodec(b *testing.B) {
	k, err := GenerateSigningKey()
	if err != nil {
		b.Fatal(err)
	}
	l := newLayout("run1")
	ref, err := l.newRef([]byte("scale-000042"), 2, newFakeClock().Now())
	if err != nil {
		b.Fatal(err)
	}
	ref = ref.inlined()
	ct := make([]byte, 3<<10)
	m := Manifest{Ref: ref, AgentID: "owner", SnapshotFormat: "mlsbackup-group-snapshot-v1", EpochAuthenticator: make([]byte, 32),
		PlaintextSize: 2900, CiphertextSize: int64(len(ct)), Sequence: 42, Prev: &Link{Sequence: 7}, Head: 3}
	for _, side := range []struct {
		name string
		c    codec
	}{
		{"signed", codec{layout: l, key: k, trusted: []Signer{k.Public()}}},
		{"unsigned", codec{layout: l, allowUnsigned: true}},
	} {
		b.Run(side.name+"/encode", func(b *testing.B) {
			for b.Loop() {
				mm := m
				if _, err := side.c.encode(&mm, ct); err != nil {
					b.Fatal(err)
				}
			}
		})
		mm := m
		data, err := side.c.encode(&mm, ct)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(side.name+"/decode", func(b *testing.B) {
			for b.Loop() {
				if _, _, err := side.c.decode(data, ref); err != nil {
					b.Fatal(err)
				}
			}
		})
		if side.c.key == nil {
			continue
		}
		// As restore --all reads it: the newest head names it.
		h := &Head{Groups: map[string]HeadEntry{ref.GroupHex(): {SHA256: mm.PayloadSHA256}}}
		b.Run(side.name+"/decode-under-head", func(b *testing.B) {
			for b.Loop() {
				if _, _, err := side.c.decodeUnder(data, ref, h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHead10k measures writing (encode and sign) and reading (check
// and decode) a head that names 10,000 groups: the agent writes one at
// the end of each pass and at most every 10 s meanwhile; restore reads
// one.
func BenchmarkHead10k(b *testing.B) {
	k, err := GenerateSigningKey()
	if err != nil {
		b.Fatal(err)
	}
	c := codec{layout: newLayout("run1"), key: k, trusted: []Signer{k.Public()}}
	h := Head{Key: c.layout.headKey(10001), Sequence: 10001, Written: newFakeClock().Now(), AgentID: "owner", Groups: map[string]HeadEntry{}}
	for i := range 10000 {
		h.Groups[fmt.Sprintf("%x", fmt.Sprintf("scale-%06d", i))] = HeadEntry{Sequence: uint64(i + 1), Epoch: 2, ID: "20261125T120000.000000000Z-0123456789abcdef"}
	}
	var data []byte
	b.Run("write", func(b *testing.B) {
		for b.Loop() {
			if data, err = c.encodeHead(h); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(data)), "bytes")
	})
	b.Run("read", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.decodeHead(data, h.Key, h.Sequence); err != nil {
				b.Fatal(err)
			}
		}
	})
}
