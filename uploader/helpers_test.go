package uploader

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
)

// fakeClock is a settable clock for tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testKeys is one age identity and its recipient, and a signing key.
type testKeys struct {
	id  *age.X25519Identity
	rec *age.X25519Recipient
	sk  *SigningKey
}

func newTestKeys(t testing.TB) testKeys {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return testKeys{id: id, rec: id.Recipient(), sk: newTestSigningKey(t)}
}

// newTestBackup returns a Backup on store for agent "agent-a" with keys.
func newTestBackup(t testing.TB, store ObjectStore, k testKeys, mod func(*Options)) *Backup {
	t.Helper()
	opts := Options{
		Prefix:     "test/prefix",
		Recipients: []age.Recipient{k.rec},
		Identities: []age.Identity{k.id},
		SigningKey: k.sk,
		AgentID:    "agent-a",
		Host:       "host-a",
	}
	if mod != nil {
		mod(&opts)
	}
	b, err := New(store, opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// randomBytes returns n random bytes.
func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// mustUpload uploads data as a snapshot of group at epoch.
func mustUpload(t testing.TB, b *Backup, group string, epoch uint64, data []byte) Manifest {
	t.Helper()
	m, err := b.Upload(context.Background(), SnapshotMeta{GroupID: []byte(group), Epoch: epoch, Size: int64(len(data)), Format: "test/1"}, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("upload group %q epoch %d: %v", group, epoch, err)
	}
	return m
}

// wantErrNaming fails unless err is non-nil, matches target and names key.
func wantErrNaming(t testing.TB, err, target error, key string) {
	t.Helper()
	switch {
	case err == nil:
		t.Fatalf("got no error, want %v naming %s", target, key)
	case target != nil && !errorsIs(err, target):
		t.Fatalf("got error %v, want %v", err, target)
	case !strings.Contains(err.Error(), key):
		t.Fatalf("error %q does not name %s", err, key)
	}
}

// editPayload returns the signed object obj with its payload changed by
// edit: signed again with key (whose signer it then names), or, with a
// nil key, keeping the old signature.
func editPayload(t testing.TB, obj []byte, key *SigningKey, edit func(p map[string]any)) []byte {
	t.Helper()
	var env wireEnvelope
	if err := json.Unmarshal(obj, &env); err != nil {
		t.Fatalf("edit payload: %v", err)
	}
	var p map[string]any
	if err := json.Unmarshal(env.Payload, &p); err != nil {
		t.Fatalf("edit payload: %v", err)
	}
	edit(p)
	payload, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	env.Payload = payload
	if key != nil {
		env.Signer, env.Signature = key.Public().String(), key.sign(payload)
	}
	out, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}
