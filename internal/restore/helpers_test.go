package restore

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/localstore"
	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/dirstore"
)

const testSuite = suite.X25519AES128GCMSHA256Ed25519

// member is one MLS client with its own in-memory storage.
type member struct {
	st     *engine.MemStorage
	client *engine.Client
	g      *engine.Group
}

func newMember(name string) *member {
	st := engine.NewMemStorage()
	return &member{st: st, client: engine.NewClient(st, []byte(name), engine.Options{})}
}

// pair is a two-member group: alice created it and added bob.
type pair struct {
	alice, bob *member
}

func newPair(t testing.TB, groupID string) *pair {
	t.Helper()
	ctx := context.Background()
	p := &pair{alice: newMember("alice"), bob: newMember("bob")}
	var err error
	if p.alice.g, err = p.alice.client.CreateGroup(ctx, testSuite, []byte(groupID)); err != nil {
		t.Fatalf("create group: %v", err)
	}
	kp, err := p.bob.client.CreateKeyPackage(ctx, testSuite, false)
	if err != nil {
		t.Fatalf("key package: %v", err)
	}
	out, err := p.alice.g.Commit(ctx, engine.CommitOptions{Add: [][]byte{kp}})
	if err != nil {
		t.Fatalf("commit add: %v", err)
	}
	if _, err := p.alice.g.MergePendingCommit(ctx); err != nil {
		t.Fatalf("merge: %v", err)
	}
	if p.bob.g, err = p.bob.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
		t.Fatalf("join: %v", err)
	}
	return p
}

// advance has alice commit a self-update that bob processes; it returns the
// commit.
func (p *pair) advance(t testing.TB) []byte {
	t.Helper()
	ctx := context.Background()
	out, err := p.alice.g.Commit(ctx, engine.CommitOptions{SelfUpdate: true})
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	if _, err := p.alice.g.MergePendingCommit(ctx); err != nil {
		t.Fatalf("merge: %v", err)
	}
	if _, err := p.bob.g.Process(ctx, out.Commit); err != nil {
		t.Fatalf("bob process: %v", err)
	}
	return out.Commit
}

// bucket is a directory bucket with one age identity and the signing key
// whose signer the identity file names.
type bucket struct {
	dir       string
	backup    *uploader.Backup // can upload and fetch
	ids       []age.Identity
	signers   []uploader.Signer // the identity file's trusted signers
	key       *uploader.SigningKey
	recipient age.Recipient
}

func newBucket(t testing.TB) *bucket {
	t.Helper()
	key, err := uploader.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	content, recipient, err := uploader.NewIdentityFile(time.Now(), key.Public())
	if err != nil {
		t.Fatal(err)
	}
	ids, err := uploader.ParseIdentitiesFile(bytes.NewReader(content), "identity")
	if err != nil {
		t.Fatal(err)
	}
	signers, err := uploader.TrustedSigners(content, "identity")
	if err != nil {
		t.Fatal(err)
	}
	r, err := uploader.ParseRecipient(recipient)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "bucket")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := dirstore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := uploader.New(st, uploader.Options{Recipients: []age.Recipient{r}, Identities: ids, SigningKey: key, AgentID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return &bucket{dir: dir, backup: b, ids: ids, signers: signers, key: key, recipient: r}
}

// snapshot exports the group of m and uploads it with meta taken from the
// snapshot unless overridden by edit.
func (b *bucket) snapshot(t testing.TB, m *member, edit func(*uploader.SnapshotMeta)) uploader.Manifest {
	t.Helper()
	ctx := context.Background()
	data, info, err := engine.ExportSnapshot(ctx, m.st, m.g.GroupID())
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	meta := uploader.SnapshotMeta{GroupID: info.GroupID, Epoch: info.Epoch, Size: int64(len(data)),
		Format: "mlsbackup-group-snapshot-v1", EpochAuthenticator: info.EpochAuthenticator}
	if edit != nil {
		edit(&meta)
	}
	man, err := b.backup.Upload(ctx, meta, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	return man
}

// openStore opens a localstore data directory (closed at cleanup).
func openStore(t testing.TB, dir string) *localstore.Store {
	t.Helper()
	st, _, err := localstore.Open(context.Background(), fsx.OS{}, dir, localstore.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func dirstoreNew(dir string) (uploader.ObjectStore, error) { return dirstore.New(dir) }

// withStore returns a Backup over st with this bucket's keys.
func (b *bucket) withStore(t testing.TB, st uploader.ObjectStore) *uploader.Backup {
	t.Helper()
	nb, err := uploader.New(st, uploader.Options{Identities: b.ids, TrustedSigners: b.signers, AgentID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return nb
}
