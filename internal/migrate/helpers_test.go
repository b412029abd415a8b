package migrate

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/internal/restore"
	"github.com/mlsbackup/mlsbackup/internal/testenv"
	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/dirstore"
	"github.com/mlsbackup/mlsbackup/uploader/s3store"
)

// keys are one age identity, its recipient and a signing key.
type keys struct {
	ids []age.Identity
	rcp []age.Recipient
	key *uploader.SigningKey
}

func newKeys(t testing.TB) keys {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	key, err := uploader.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	return keys{ids: []age.Identity{id}, rcp: []age.Recipient{id.Recipient()}, key: key}
}

// dirStore is a fresh local directory store.
func dirStore(t testing.TB) uploader.ObjectStore {
	t.Helper()
	st, err := dirstore.New(filepath.Join(t.TempDir(), "bucket"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// minioStore is a fresh bucket of a MinIO started for the test.
func minioStore(t testing.TB) uploader.ObjectStore {
	t.Helper()
	srv := testenv.MinIO(t)
	st, err := s3store.New(t.Context(), s3store.Config{Bucket: srv.Bucket, Region: srv.Region, Endpoint: srv.Endpoint,
		PathStyle: true, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey,
		MaxAttempts: 4, RetryBaseDelay: 20 * time.Millisecond, RetryMaxDelay: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// open returns a Backup over st at prefix that writes as agent with k's
// signing key, encrypts to rcp, decrypts with ids and trusts trusted.
func open(t testing.TB, st uploader.ObjectStore, prefix, agent string, k *uploader.SigningKey, rcp []age.Recipient, ids []age.Identity, trusted ...uploader.Signer) *uploader.Backup {
	t.Helper()
	b, err := uploader.New(st, uploader.Options{Prefix: prefix, AgentID: agent, SigningKey: k, Recipients: rcp,
		Identities: ids, TrustedSigners: trusted, InlineMax: 2 << 10})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fill uploads, as agent "alice", snapshots of groups real MLS groups at
// several epochs (some large enough not to be inline), and a head.
func fill(t testing.TB, b *uploader.Backup, groups, epochs int) {
	t.Helper()
	ctx := context.Background()
	for g := range groups {
		st := engine.NewMemStorage()
		c := engine.NewClient(st, []byte("alice"), engine.Options{})
		grp, err := c.CreateGroup(ctx, suite.X25519AES128GCMSHA256Ed25519, []byte{'g', byte('a' + g)})
		if err != nil {
			t.Fatal(err)
		}
		for range epochs {
			if _, err := grp.Commit(ctx, engine.CommitOptions{SelfUpdate: true}); err != nil {
				t.Fatal(err)
			}
			if _, err := grp.MergePendingCommit(ctx); err != nil {
				t.Fatal(err)
			}
			data, info, err := engine.ExportSnapshot(ctx, st, grp.GroupID())
			if err != nil {
				t.Fatal(err)
			}
			meta := uploader.SnapshotMeta{GroupID: info.GroupID, Epoch: info.Epoch, Size: int64(len(data)),
				Format: "mlsbackup-group-snapshot-v1", EpochAuthenticator: info.EpochAuthenticator}
			if _, err := b.Upload(ctx, meta, bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := b.WriteHead(ctx); err != nil {
		t.Fatal(err)
	}
}

// verifyAll runs restore's verify --all on b and fails the test on any
// failure; it returns the plaintext digests of the snapshots.
func verifyAll(t testing.TB, b *uploader.Backup) map[[32]byte]bool {
	t.Helper()
	rep, err := restore.Verify(context.Background(), b, restore.VerifyRequest{All: true})
	if err != nil {
		t.Fatalf("verify --all %s: %v", b, err)
	}
	out := map[[32]byte]bool{}
	for _, o := range rep.Objects {
		if !o.OK() {
			t.Errorf("verify --all %s: %s fails %s: %v", b, o.Key, o.Failed, o.Err)
			continue
		}
		if o.Manifest != nil {
			out[o.Manifest.PlaintextSHA256] = true
		}
	}
	if rep.Head == nil {
		t.Errorf("verify --all %s: no head", b)
	}
	return out
}

// plaintexts returns the plaintext digests of b's snapshots.
func plaintexts(t testing.TB, b *uploader.Backup) map[[32]byte]bool {
	t.Helper()
	ms, err := b.List(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[[32]byte]bool{}
	for _, m := range ms {
		out[m.PlaintextSHA256] = true
	}
	return out
}

// dump returns every object of st under prefix (key → content).
func dump(t testing.TB, st uploader.ObjectStore, prefix string) map[string]string {
	t.Helper()
	ctx := context.Background()
	objs, err := st.List(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, o := range objs {
		rc, err := st.Get(ctx, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[o.Key] = string(b)
	}
	return out
}

func sameKeys(a, b map[[32]byte]bool) bool {
	return slices.Equal(sortedDigests(a), sortedDigests(b))
}

func sortedDigests(m map[[32]byte]bool) [][32]byte {
	return slices.SortedFunc(maps.Keys(m), func(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) })
}

// errCrash is what the crashing store returns once it has "died".
var errCrash = errors.New("test: process killed")

// crashStore is an ObjectStore that dies at its nth write or delete:
// before the operation (after false) or right after it took effect
// (after true). Once dead, every call fails, as after a kill -9.
type crashStore struct {
	uploader.ObjectStore
	mu     sync.Mutex
	n      int // writes left before the crash; <= 0: never
	after  bool
	dead   bool
	writes int // writes and deletes tried, the crashing one included
}

// step counts a write and reports whether to perform it, and the error
// to return.
func (c *crashStore) step() (do bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return false, errCrash
	}
	c.writes++
	if c.n <= 0 {
		return true, nil
	}
	c.n--
	if c.n > 0 {
		return true, nil
	}
	c.dead = true
	return c.after, errCrash
}

func (c *crashStore) isDead() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return errCrash
	}
	return nil
}

func (c *crashStore) Put(ctx context.Context, key string, r io.Reader, size int64, ifNoneMatch bool) error {
	do, err := c.step()
	if do {
		if perr := c.ObjectStore.Put(ctx, key, r, size, ifNoneMatch); perr != nil {
			return perr
		}
	}
	return err
}

func (c *crashStore) Delete(ctx context.Context, key string) error {
	do, err := c.step()
	if do {
		if derr := c.ObjectStore.Delete(ctx, key); derr != nil {
			return derr
		}
	}
	return err
}

func (c *crashStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := c.isDead(); err != nil {
		return nil, err
	}
	return c.ObjectStore.Get(ctx, key)
}

func (c *crashStore) List(ctx context.Context, prefix string) ([]uploader.ObjectInfo, error) {
	if err := c.isDead(); err != nil {
		return nil, err
	}
	return c.ObjectStore.List(ctx, prefix)
}

func (c *crashStore) Stat(ctx context.Context, key string) (uploader.ObjectInfo, error) {
	if err := c.isDead(); err != nil {
		return uploader.ObjectInfo{}, err
	}
	return c.ObjectStore.Stat(ctx, key)
}
