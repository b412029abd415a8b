package uploader

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// listGroup returns every manifest of group, failing on an unreadable one.
func listGroup(t *testing.T, b *Backup, group string) []Manifest {
	t.Helper()
	ms, err := b.List(context.Background(), []byte(group))
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// TestChainLinksEachGroup: signed objects take the prefix's next sequence
// and each manifest names its group's previous one.
func TestChainLinksEachGroup(t *testing.T) {
	b := newTestBackup(t, newMemStore(), newTestKeys(t), nil)
	a1 := mustUpload(t, b, "a", 1, []byte("a1"))
	b1 := mustUpload(t, b, "b", 1, []byte("b1"))
	a2 := mustUpload(t, b, "a", 2, []byte("a2"))
	if a1.Sequence != 1 || b1.Sequence != 2 || a2.Sequence != 3 || a1.Prev != nil || b1.Prev != nil || *a2.Prev != a1.link() {
		t.Fatalf("sequences %d %d %d, prevs %v %v %v", a1.Sequence, b1.Sequence, a2.Sequence, a1.Prev, b1.Prev, a2.Prev)
	}
	if errs := ChainErrors(listGroup(t, b, "a")); len(errs) != 0 {
		t.Errorf("intact chain: %v", errs)
	}
}

// TestChainErrorsNameTheBrokenLink: deleting a middle manifest breaks the
// next one's link, named; deleting the oldest (as retention does) does
// not; a duplicated sequence or a link to a different manifest is named.
func TestChainErrorsNameTheBrokenLink(t *testing.T) {
	store := newMemStore()
	b := newTestBackup(t, store, newTestKeys(t), nil)
	var ms []Manifest
	for e := uint64(1); e <= 4; e++ {
		ms = append(ms, mustUpload(t, b, "g", e, []byte(fmt.Sprint(e))))
	}
	all := listGroup(t, b, "g")
	if errs := ChainErrors(all[1:]); len(errs) != 0 {
		t.Errorf("oldest deleted: %v, want no error", errs)
	}
	gap := append([]Manifest{all[0]}, all[2:]...)
	errs := ChainErrors(gap)
	if len(errs) != 1 || !errors.Is(errs[ms[2].Key], ErrBrokenChain) || FailedCheck(errs[ms[2].Key]) != CheckChain ||
		!strings.Contains(errs[ms[2].Key].Error(), ms[2].Key) {
		t.Errorf("middle deleted: %v, want one broken link at %s", errs, ms[2].Key)
	}
	twice := append([]Manifest{}, all...)
	twice[3].Sequence = twice[2].Sequence
	if errs := ChainErrors(twice); len(errs) == 0 {
		t.Error("a sequence taken twice was not reported")
	}
	other := append([]Manifest{}, all...)
	other[2].PayloadSHA256[0] ^= 1
	if errs := ChainErrors(other); errs[ms[3].Key] == nil {
		t.Errorf("a link to a different manifest: %v", errs)
	}
}

// TestWriteHead: a head lists every group's newest manifest, later
// manifests name it, only the newest three heads stay, and ReadHead
// returns the newest.
func TestWriteHead(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	clock := newFakeClock()
	b := newTestBackup(t, store, newTestKeys(t), func(o *Options) { o.Now = clock.Now })
	if b.HeadPending() {
		t.Fatal("head pending before any upload")
	}
	a1 := mustUpload(t, b, "a", 1, []byte("a1"))
	b1 := mustUpload(t, b, "b", 1, []byte("b1"))
	h, err := b.WriteHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b.HeadPending() || len(h.Groups) != 2 || h.Groups["61"] != entryOf(a1) || h.Groups["62"] != entryOf(b1) || !h.Written.Equal(clock.Now()) {
		t.Fatalf("head %+v", h)
	}
	a2 := mustUpload(t, b, "a", 2, []byte("a2"))
	if a2.Head != h.Sequence || !b.HeadPending() {
		t.Errorf("manifest after head %d names head %d", h.Sequence, a2.Head)
	}
	var last *Head
	for range 4 {
		clock.Advance(time.Minute)
		if last, err = b.WriteHead(ctx); err != nil {
			t.Fatal(err)
		}
	}
	seqs, err := b.headKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != headsKept || seqs[0] != last.Sequence {
		t.Errorf("heads left %v, want the newest %d ending at %d", seqs, headsKept, last.Sequence)
	}
	got, err := b.ReadHead(ctx)
	if err != nil || got.Sequence != last.Sequence || got.Groups["61"] != entryOf(a2) || !got.Written.Equal(clock.Now()) || got.Signer != b.Signer() {
		t.Errorf("ReadHead = %+v, %v; want head %d naming a at epoch 2", got, err, last.Sequence)
	}
}

// TestHeadError: the head detects a deleted newest manifest, a deleted
// head and a group whose manifests are all gone; a garbage head newer
// than the newest valid one is reported and skipped.
func TestHeadError(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	b := newTestBackup(t, store, newTestKeys(t), nil)
	mustUpload(t, b, "a", 1, []byte("a1"))
	a2 := mustUpload(t, b, "a", 2, []byte("a2"))
	mustUpload(t, b, "b", 1, []byte("b1"))
	h, err := b.WriteHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := HeadError(h, []byte("a"), listGroup(t, b, "a"), now); err != nil {
		t.Fatalf("intact: %v", err)
	}
	older := listGroup(t, b, "a")[:1]
	if err := HeadError(h, []byte("a"), older, now); !errors.Is(err, ErrHead) || FailedCheck(err) != CheckHead || !strings.Contains(err.Error(), "newer manifests were deleted") {
		t.Errorf("newest deleted: %v", err)
	}
	if err := HeadError(h, []byte("a"), nil, now); !errors.Is(err, ErrHead) {
		t.Errorf("all deleted: %v", err)
	}
	if got := MissingGroups(h, func(g []byte) bool { return string(g) == "b" }); len(got) != 1 || string(got[0]) != "a" {
		t.Errorf("MissingGroups = %q, want [a]", got)
	}
	a3 := mustUpload(t, b, "a", 3, []byte("a3"))
	if err := HeadError(nil, []byte("a"), []Manifest{a3}, now); !errors.Is(err, ErrHead) || !strings.Contains(err.Error(), "a head was deleted") {
		t.Errorf("head deleted under a manifest that names it: %v", err)
	}
	if err := HeadError(h, []byte("a"), []Manifest{a2, a3}, now); err != nil {
		t.Errorf("newer manifest than the head: %v", err)
	}
	junk := b.layout.headKey(h.Sequence + 100)
	if err := store.Put(ctx, junk, strings.NewReader("junk"), 4, true); err != nil {
		t.Fatal(err)
	}
	got, err := b.ReadHead(ctx)
	if got == nil || got.Sequence != h.Sequence || err == nil || !strings.Contains(err.Error(), junk) {
		t.Errorf("ReadHead with a junk head: %+v, %v; want head %d and an error naming %s", got, err, h.Sequence, junk)
	}
}

// TestChainSeededFromDestination: a new writer on the same key (the
// agent restarted, or after a lost disk) continues every group's chain
// and the prefix's sequence, reading only the manifests newer than the
// newest head.
func TestChainSeededFromDestination(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	k := newTestKeys(t)
	first := newTestBackup(t, store, k, nil)
	for e := uint64(1); e <= 3; e++ {
		mustUpload(t, first, "a", e, []byte("a"))
		mustUpload(t, first, "b", e, []byte("b"))
	}
	h, err := first.WriteHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a4 := mustUpload(t, first, "a", 4, []byte("a4"))

	again := newTestBackup(t, store, k, nil)
	gets := store.getCount()
	if err := again.LoadChain(ctx); err != nil {
		t.Fatal(err)
	}
	// The head and a's newest manifest; b's comes from the head.
	if n := store.getCount() - gets; n != 2 {
		t.Errorf("seeding read %d objects, want 2 (the head, a's newest manifest)", n)
	}
	a5 := mustUpload(t, again, "a", 5, []byte("a5"))
	b4 := mustUpload(t, again, "b", 4, []byte("b4"))
	if *a5.Prev != a4.link() || b4.Prev.Sequence != h.Groups["62"].Sequence || a5.Sequence <= a4.Sequence || a5.Head != h.Sequence {
		t.Errorf("after seeding: a5 %+v (a4 %d), b4 prev %+v, head %d", a5, a4.Sequence, b4.Prev, h.Sequence)
	}
	for _, g := range []string{"a", "b"} {
		if errs := ChainErrors(listGroup(t, again, g)); len(errs) != 0 {
			t.Errorf("group %s: %v", g, errs)
		}
	}
}

// TestChainAfterAmbiguousManifestWrite: a manifest write that failed
// although the object landed does not fork the chain: the group's next
// manifest names the one that landed.
func TestChainAfterAmbiguousManifestWrite(t *testing.T) {
	mem := newMemStore()
	store := &landingStore{memStore: mem}
	b := newTestBackup(t, store, newTestKeys(t), nil)
	mustUpload(t, b, "g", 1, []byte("one"))
	store.failNext = true
	if _, err := b.Upload(context.Background(), SnapshotMeta{GroupID: []byte("g"), Epoch: 2}, strings.NewReader("two")); err == nil {
		t.Fatal("upload whose manifest write failed succeeded")
	}
	m3 := mustUpload(t, b, "g", 3, []byte("three"))
	all := listGroup(t, b, "g")
	if len(all) != 3 || all[1].Key != store.landed || *m3.Prev != all[1].link() {
		t.Fatalf("after the lost answer: %d manifests, m3 prev %+v, landed %s", len(all), m3.Prev, store.landed)
	}
	if errs := ChainErrors(all); len(errs) != 0 {
		t.Errorf("chain: %v", errs)
	}
}

// landingStore stores the next manifest it is asked to (failNext) and
// then reports an error, as a connection lost after the write would.
type landingStore struct {
	*memStore
	failNext bool
	landed   string
}

func (s *landingStore) Put(ctx context.Context, key string, r io.Reader, size int64, ifNoneMatch bool) error {
	if err := s.memStore.Put(ctx, key, r, size, ifNoneMatch); err != nil {
		return err
	}
	if s.failNext && strings.HasSuffix(key, manifestName) {
		s.failNext, s.landed = false, key
		return errors.New("connection reset after the write")
	}
	return nil
}

// TestReadManifestUnderHead: a manifest the newest head names by its
// payload digest is vouched for by the head's signature (its own is not
// checked again: a damaged signature over an intact payload passes, as
// the head signed that payload); any change of the payload, or a manifest
// the head does not name, is checked as ever.
func TestReadManifestUnderHead(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	b := newTestBackup(t, store, newTestKeys(t), nil)
	named := mustUpload(t, b, "g", 1, []byte("one"))
	h, err := b.WriteHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	later := mustUpload(t, b, "g", 2, []byte("two"))
	for _, m := range []Manifest{named, later} {
		store.mutate(m.Key, func(o []byte) []byte {
			var env wireEnvelope
			_ = json.Unmarshal(o, &env)
			env.Signature[0] ^= 1
			out, _ := json.Marshal(env)
			return out
		})
	}
	if got, err := b.ReadManifestUnder(ctx, named.Ref, h); err != nil || got.PayloadSHA256 != named.PayloadSHA256 {
		t.Errorf("the manifest the head names: %v", err)
	}
	if _, err := b.ReadManifest(ctx, named.Ref); !errors.Is(err, ErrBadSignature) {
		t.Errorf("the same without the head: %v, want ErrBadSignature", err)
	}
	if _, err := b.ReadManifestUnder(ctx, later.Ref, h); !errors.Is(err, ErrBadSignature) {
		t.Errorf("a manifest newer than the head: %v, want ErrBadSignature", err)
	}
	store.mutate(named.Key, func(o []byte) []byte { return editPayload(t, o, nil, func(p map[string]any) { p["agent_id"] = "x" }) })
	if _, err := b.ReadManifestUnder(ctx, named.Ref, h); !errors.Is(err, ErrBadSignature) {
		t.Errorf("an edited payload under the head: %v, want ErrBadSignature", err)
	}
}
