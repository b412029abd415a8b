package restore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path"

	"github.com/mlsbackup/mlsbackup/uploader"
)

// tamperCase is one attack on the fixture.
type tamperCase struct {
	name string
	// prefix is where it happens (verify --all runs there).
	prefix string
	// detectable: the threat model says verify and restore detect it;
	// otherwise the result is a valid backup set, which neither rejects.
	detectable bool
	// restore is the restore that would use what was tampered with.
	restore func(*caseEnv) Request
	tamper  func(*caseEnv)
}

// payloadFields are the fields of a manifest's signed payload.
var payloadFields = []string{"format", "version", "prefix", "key", "group_id", "epoch", "created", "id", "agent_id",
	"snapshot_format", "epoch_authenticator", "encryption", "object", "plaintext", "ciphertext", "sequence", "prev", "head"}

// tamperCases lists the suite's cases: for each kind of object (manifest,
// snapshot.age, inline snapshot.json, head) every field edited, swaps
// with another group's, prefix's and epoch's object, replays under a newer
// key, deletions, truncation, an untrusted signer and the unsigned format;
// then snapshots signed by the agent's own key whose contents disagree
// with their manifest; then the valid backup sets.
func tamperCases() []tamperCase {
	var cs []tamperCase
	add := func(name, p string, restore func(*caseEnv) Request, tamper func(*caseEnv)) {
		cs = append(cs, tamperCase{name: name, prefix: p, detectable: true, restore: restore, tamper: tamper})
	}
	newest := func(e *caseEnv) uploader.Manifest { return e.m(pA, "g1", -1) }
	newestInline := func(e *caseEnv) uploader.Manifest { return e.m(pAI, "g1", -1) }

	// Manifests (manifest.json next to snapshot.age).
	for _, field := range payloadFields {
		add("manifest/edit "+field, pA, latest("g1"), func(e *caseEnv) {
			e.editEnvelope(newest(e).Key, false, func(_, p map[string]any) { p[field] = editValue(p[field]) })
		})
	}
	add("manifest/edit signature", pA, latest("g1"), func(e *caseEnv) {
		e.editEnvelope(newest(e).Key, false, func(env, _ map[string]any) { env["signature"] = flipB64(env["signature"].(string)) })
	})
	add("manifest/edit signer to the other agent's", pA, latest("g1"), func(e *caseEnv) {
		e.editEnvelope(newest(e).Key, false, func(env, _ map[string]any) { env["signer"] = e.f.trusted[1].String() })
	})
	add("manifest/edit envelope version", pA, latest("g1"), func(e *caseEnv) {
		e.editEnvelope(newest(e).Key, false, func(env, _ map[string]any) { env["version"] = 4 })
	})
	add("manifest/swap with another group's", pA, latest("g1"), func(e *caseEnv) {
		e.copySnapshot(e.m(pA, "g2", -1), newest(e).Key)
	})
	add("manifest/swap with another prefix's", pA, latest("g1"), func(e *caseEnv) {
		e.copySnapshot(e.m(pB, "g1", -1), newest(e).Key)
	})
	add("manifest/swap with another epoch's", pA, latest("g1"), func(e *caseEnv) {
		e.copySnapshot(e.m(pA, "g1", 0), newest(e).Key)
	})
	add("manifest/replay an old snapshot under a newer key", pA, latest("g1"), func(e *caseEnv) {
		e.copySnapshot(e.m(pA, "g1", 0), laterKey(pA, newest(e), newest(e).Epoch+1))
	})
	add("manifest/replay the newest epoch's older snapshot under a later time", pA, latest("g1"), func(e *caseEnv) {
		old := e.m(pA, "g1", -2) // same epoch, before the consumed message
		e.copySnapshot(old, laterKey(pA, old, old.Epoch))
	})
	add("manifest/delete the newest", pA, latest("g1"), func(e *caseEnv) { e.del(newest(e).Key) })
	add("manifest/delete a middle one", pA, latest("g1"), func(e *caseEnv) { e.del(e.m(pA, "g1", 1).Key) })
	add("manifest/delete every one of a group", pA, allGroups, func(e *caseEnv) {
		for _, m := range e.f.ms[pA]["g1"] {
			e.del(m.Key, m.DataKey)
		}
	})
	add("manifest/truncate", pA, latest("g1"), func(e *caseEnv) { e.put(newest(e).Key, truncate(e.get(newest(e).Key))) })
	add("manifest/signed by an untrusted key", pA, latest("g1"), func(e *caseEnv) {
		e.editEnvelope(newest(e).Key, true, func(_, _ map[string]any) {})
	})
	add("manifest/unsigned", pA, latest("g1"), func(e *caseEnv) { e.unsigned(newest(e).Key) })
	add("manifest/a planted snapshot signed by an untrusted key", pA, latest("g1"), func(e *caseEnv) {
		key := laterKey(pA, newest(e), newest(e).Epoch+1)
		e.copySnapshot(newest(e), key)
		e.put(path.Dir(key)+"/snapshot.age", e.encrypt(e.f.plain[pB]["g1"][len(e.f.plain[pB]["g1"])-1]))
		e.editEnvelope(key, true, func(_, p map[string]any) { p["key"] = key[len(pA)+1:] })
	})

	// Snapshot objects (snapshot.age).
	add("snapshot.age/flip a bit", pA, latest("g1"), func(e *caseEnv) {
		data := e.get(newest(e).DataKey)
		data[len(data)/2] ^= 1
		e.put(newest(e).DataKey, data)
	})
	add("snapshot.age/truncate", pA, latest("g1"), func(e *caseEnv) { e.put(newest(e).DataKey, truncate(e.get(newest(e).DataKey))) })
	add("snapshot.age/truncate a middle one", pA, atEpoch(pA, "g1", 1), func(e *caseEnv) {
		m := e.m(pA, "g1", 1)
		e.put(m.DataKey, truncate(e.get(m.DataKey)))
	})
	add("snapshot.age/append bytes", pA, latest("g1"), func(e *caseEnv) {
		e.put(newest(e).DataKey, append(e.get(newest(e).DataKey), 0))
	})
	add("snapshot.age/swap with another group's", pA, latest("g1"), func(e *caseEnv) {
		e.put(newest(e).DataKey, e.get(e.m(pA, "g2", -1).DataKey))
	})
	add("snapshot.age/swap with another prefix's", pA, latest("g1"), func(e *caseEnv) {
		e.put(newest(e).DataKey, e.get(e.m(pB, "g1", -1).DataKey))
	})
	add("snapshot.age/swap with another epoch's", pA, latest("g1"), func(e *caseEnv) {
		e.put(newest(e).DataKey, e.get(e.m(pA, "g1", 0).DataKey))
	})
	add("snapshot.age/another member's snapshot encrypted to the recipient", pA, latest("g1"), func(e *caseEnv) {
		e.put(newest(e).DataKey, e.encrypt(e.f.plain[pB]["g1"][len(e.f.plain[pB]["g1"])-1]))
	})
	add("snapshot.age/delete", pA, latest("g1"), func(e *caseEnv) { e.del(newest(e).DataKey) })

	// Inline snapshots (snapshot.json).
	add("snapshot.json/flip a bit of the age file", pAI, latest("g1"), func(e *caseEnv) {
		e.editEnvelope(newestInline(e).Key, false, func(env, _ map[string]any) { env["inline"] = flipB64(env["inline"].(string)) })
	})
	add("snapshot.json/age file of another group", pAI, latest("g1"), func(e *caseEnv) {
		var other map[string]any
		_ = json.Unmarshal(e.get(e.m(pAI, "g2", -1).Key), &other)
		e.editEnvelope(newestInline(e).Key, false, func(env, _ map[string]any) { env["inline"] = other["inline"] })
	})
	add("snapshot.json/edit ciphertext digest to match a new age file", pAI, latest("g1"), func(e *caseEnv) {
		e.editEnvelope(newestInline(e).Key, false, func(env, p map[string]any) {
			p["ciphertext"] = map[string]any{"size": 1, "sha256": "00"}
		})
	})
	add("snapshot.json/swap with another group's", pAI, latest("g1"), func(e *caseEnv) {
		e.copySnapshot(e.m(pAI, "g2", -1), newestInline(e).Key)
	})
	add("snapshot.json/swap with another prefix's", pAI, latest("g1"), func(e *caseEnv) {
		e.copySnapshot(e.m(pBI, "g1", -1), newestInline(e).Key)
	})
	add("snapshot.json/swap with another epoch's", pAI, latest("g1"), func(e *caseEnv) {
		e.copySnapshot(e.m(pAI, "g1", 0), newestInline(e).Key)
	})
	add("snapshot.json/replay an old snapshot under a newer key", pAI, latest("g1"), func(e *caseEnv) {
		e.copySnapshot(e.m(pAI, "g1", 0), laterKey(pAI, newestInline(e), newestInline(e).Epoch+1))
	})
	add("snapshot.json/delete the newest", pAI, latest("g1"), func(e *caseEnv) { e.del(newestInline(e).Key) })
	add("snapshot.json/delete a middle one", pAI, latest("g1"), func(e *caseEnv) { e.del(e.m(pAI, "g1", 1).Key) })
	add("snapshot.json/truncate", pAI, latest("g1"), func(e *caseEnv) {
		e.put(newestInline(e).Key, truncate(e.get(newestInline(e).Key)))
	})
	add("snapshot.json/signed by an untrusted key", pAI, latest("g1"), func(e *caseEnv) {
		e.editEnvelope(newestInline(e).Key, true, func(_, _ map[string]any) {})
	})
	add("snapshot.json/unsigned", pAI, latest("g1"), func(e *caseEnv) { e.unsigned(newestInline(e).Key) })

	// Heads.
	headKey := func(e *caseEnv, i int) string { return e.f.heads[pA][i].Key }
	add("head/edit a group's entry", pA, latest("g1"), func(e *caseEnv) {
		e.editEnvelope(headKey(e, 1), false, func(_, p map[string]any) {
			for _, v := range p["groups"].(map[string]any) {
				v.(map[string]any)["sequence"] = 1
			}
		})
	})
	add("head/delete the newest", pA, latest("g2"), func(e *caseEnv) { e.del(headKey(e, 1)) })
	add("head/delete every one", pA, latest("g2"), func(e *caseEnv) { e.del(headKey(e, 0), headKey(e, 1)) })
	add("head/replay an older head under a newer key", pA, latest("g1"), func(e *caseEnv) {
		e.put(newerHeadKey(e, pA), e.get(headKey(e, 0)))
	})
	add("head/swap with another prefix's", pA, latest("g1"), func(e *caseEnv) {
		e.put(newerHeadKey(e, pA), e.get(e.f.heads[pB][1].Key))
	})
	add("head/truncate", pA, latest("g1"), func(e *caseEnv) { e.put(headKey(e, 1), truncate(e.get(headKey(e, 1)))) })
	add("head/a newer head signed by an untrusted key", pA, latest("g1"), func(e *caseEnv) {
		key := newerHeadKey(e, pA)
		e.put(key, e.get(headKey(e, 1)))
		e.editEnvelope(key, true, func(_, p map[string]any) {
			p["key"], p["sequence"] = key[len(pA)+1:], e.f.heads[pA][1].Sequence+headStep
			p["groups"] = map[string]any{}
		})
	})
	add("head/unsigned", pA, latest("g1"), func(e *caseEnv) {
		e.put(newerHeadKey(e, pA), []byte(`{"format":"mlsbackup-head","version":1,"groups":{}}`))
	})

	// Signed by the agent's own key, contents disagreeing with the
	// manifest (a bug, or a stolen signing key): the snapshot check. Each
	// is g1's newest snapshot uploaded again, as the newest of its group.
	signedBad := func(name, group string, edit func(e *caseEnv, m *uploader.SnapshotMeta)) {
		add("signed contents/"+name, pA, latest(group), func(e *caseEnv) {
			m, data := newest(e), e.f.plain[pA]["g1"][len(e.f.plain[pA]["g1"])-1]
			meta := uploader.SnapshotMeta{GroupID: m.GroupID, Epoch: m.Epoch, Size: int64(len(data)),
				Format: m.SnapshotFormat, EpochAuthenticator: m.EpochAuthenticator}
			edit(e, &meta)
			if _, err := e.writer(pA).Upload(context.Background(), meta, bytes.NewReader(data)); err != nil {
				e.t.Fatal(err)
			}
		})
	}
	signedBad("another epoch authenticator", "g1", func(_ *caseEnv, m *uploader.SnapshotMeta) { m.EpochAuthenticator = make([]byte, 32) })
	signedBad("another epoch", "g1", func(_ *caseEnv, m *uploader.SnapshotMeta) { m.Epoch++ })
	signedBad("another group", "g2", func(e *caseEnv, m *uploader.SnapshotMeta) {
		m.GroupID, m.Epoch = []byte("g2"), e.m(pA, "g2", -1).Epoch+1
	})

	// Valid backup sets: what the threat model cannot tell from the real
	// thing (a consistent rollback; a snapshot uploaded after the newest
	// head), and ordinary changes.
	valid := func(name, p string, restore func(*caseEnv) Request, tamper func(*caseEnv)) {
		cs = append(cs, tamperCase{name: "valid/" + name, prefix: p, restore: restore, tamper: tamper})
	}
	valid("untouched", pA, allGroups, nil)
	valid("untouched inline", pAI, allGroups, nil)
	valid("retention deleted the oldest", pA, latest("g1"), func(e *caseEnv) {
		m := e.m(pA, "g1", 0)
		e.del(m.Key, m.DataKey)
	})
	valid("the agent uploads again (after reading the chain)", pA, allGroups, func(e *caseEnv) {
		w := e.writer(pA)
		data := e.f.plain[pA]["g2"][len(e.f.plain[pA]["g2"])-1]
		m := e.m(pA, "g2", -1)
		if _, err := w.Upload(context.Background(), uploader.SnapshotMeta{GroupID: m.GroupID, Epoch: m.Epoch, Size: int64(len(data)),
			Format: m.SnapshotFormat, EpochAuthenticator: m.EpochAuthenticator}, bytes.NewReader(data)); err != nil {
			e.t.Fatal(err)
		}
		if _, err := w.WriteHead(context.Background()); err != nil {
			e.t.Fatal(err)
		}
	})
	valid("an object outside the layout", pA, allGroups, func(e *caseEnv) { e.put(pA+"/notes.txt", []byte("hello")) })
	valid("rollback: the newest head and everything after it deleted (undetectable)", pA, allGroups, func(e *caseEnv) {
		m := e.m(pA, "g2", -1)
		e.del(e.f.heads[pA][1].Key, m.Key, m.DataKey)
		for _, m := range e.f.ms[pA]["g2"][:2] {
			e.del(m.Key, m.DataKey)
		}
	})
	valid("the snapshot uploaded after the newest head deleted (undetectable)", pA, latest("g2"), func(e *caseEnv) {
		m := e.m(pA, "g2", -1)
		e.del(m.Key, m.DataKey)
	})
	return cs
}

// editValue returns a different value of the same JSON kind as v.
func editValue(v any) any {
	switch v := v.(type) {
	case string:
		if v == "" {
			return "x"
		}
		b := []byte(v)
		b[len(b)-1] ^= 1
		return string(b)
	case float64:
		return v + 1
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			out[k] = editValue(x)
		}
		return out
	case nil:
		return map[string]any{"sequence": 1, "sha256": fmt.Sprintf("%064x", 1)}
	}
	return v
}

// flipB64 changes one character of a base64 string to another base64
// character.
func flipB64(s string) string {
	b := []byte(s)
	if b[2] == 'A' {
		b[2] = 'B'
	} else {
		b[2] = 'A'
	}
	return string(b)
}

func truncate(b []byte) []byte { return b[:len(b)*2/3] }

// headStep is how much newer than the newest head newerHeadKey is.
const headStep = 50

// newerHeadKey is a head key of prefix p newer than every head there.
func newerHeadKey(e *caseEnv, p string) string {
	hs := e.f.heads[p]
	return fmt.Sprintf("%s/heads/%020d.json", p, hs[len(hs)-1].Sequence+headStep)
}
