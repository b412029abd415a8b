package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"
)

// last returns the batch applied last.
func (r *recordingStorage) last() *Batch { return r.batches[len(r.batches)-1] }

// outboxKind is the kind the tests attach under.
const outboxKind Kind = "outbox"

// attachRecorder returns an Attach that stores one component named name
// holding what the outcome carries, and remembers the outcome.
func attachRecorder(name string, got **Outcome) Attach {
	return func(o *Outcome) ([]Put, error) {
		*got = o
		v := append(append(append([]byte(nil), o.Message...), o.Welcome...), fmt.Sprint(o.Epoch, len(o.Members))...)
		if o.Result != nil {
			v = append(v, o.Result.ApplicationData...)
		}
		return []Put{{Key: Key{Kind: outboxKind, Name: name}, Value: v}}, nil
	}
}

// hasPut reports whether b puts the component name of kind outboxKind.
func hasPut(b *Batch, name string) bool {
	for _, p := range b.Puts {
		if p.Key.Kind == outboxKind && p.Key.Name == name {
			return true
		}
	}
	return false
}

// recordingPair is alice (recording storage) and bob in one group.
func recordingPair(t *testing.T, opts Options) (*member, *member, *recordingStorage) {
	t.Helper()
	ctx := context.Background()
	rec := &recordingStorage{MemStorage: NewMemStorage()}
	a := &member{name: "alice", st: rec.MemStorage, client: NewClient(rec, []byte("alice"), opts)}
	b := newMember("bob")
	b.client = NewClient(b.st, []byte("bob"), opts)
	var err error
	if a.g, err = a.client.CreateGroup(ctx, suite1, []byte("attach")); err != nil {
		t.Fatal(err)
	}
	out := commitAndDeliver(t, a, CommitOptions{Add: [][]byte{b.keyPackage(t, suite1)}})
	if b.g, err = b.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
		t.Fatal(err)
	}
	return a, b, rec
}

// TestAttachEncryptWritesWithinLease: a send inside its generation lease
// writes nothing by itself; with an Attach it writes one batch holding the
// caller's component with the very message returned.
func TestAttachEncryptWritesWithinLease(t *testing.T) {
	ctx := context.Background()
	a, b, rec := recordingPair(t, Options{})
	sendAndCheck(t, a, "takes the lease", b)
	n := len(rec.batches)
	sendAndCheck(t, a, "inside the lease", b)
	if len(rec.batches) != n {
		t.Fatalf("a send inside the lease wrote %d batches", len(rec.batches)-n)
	}
	var got *Outcome
	msg, err := a.g.Encrypt(ctx, []byte("outbox"), nil, attachRecorder("send", &got))
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.batches) != n+1 || !hasPut(rec.last(), "send") {
		t.Fatalf("attached send wrote %d batches, last %+v; want one with the attached put", len(rec.batches)-n, rec.last())
	}
	if !bytes.Equal(got.Message, msg) || got.Epoch != a.g.Epoch() || len(got.Members) != 2 || !bytes.Equal(got.GroupID, a.g.GroupID()) {
		t.Fatalf("outcome %+v does not describe the send", got)
	}
	if r := deliver(t, msg, b); string(r[0].ApplicationData) != "outbox" {
		t.Fatalf("bob decrypted %q", r[0].ApplicationData)
	}
}

// TestAttachProcessStoresResultWithConsumedKey: the plaintext of a
// received message is in the batch that consumes its key, for current and
// late messages, proposals and commits.
func TestAttachProcessStoresResultWithConsumedKey(t *testing.T) {
	ctx := context.Background()
	a, b, rec := recordingPair(t, Options{})
	late, err := b.g.Encrypt(ctx, []byte("late"), nil)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := b.g.Encrypt(ctx, []byte("current"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got *Outcome
	if _, err := a.g.Process(ctx, cur, attachRecorder("app", &got)); err != nil {
		t.Fatal(err)
	}
	if !hasPut(rec.last(), "app") || got.Result == nil || string(got.Result.ApplicationData) != "current" {
		t.Fatalf("application message: outcome %+v, last batch %s", got, rec.last().Op)
	}
	prop, err := b.g.ProposeUpdate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.g.Process(ctx, prop, attachRecorder("proposal", &got)); err != nil {
		t.Fatal(err)
	}
	if !hasPut(rec.last(), "proposal") || got.Result.Kind != ContentProposal {
		t.Fatalf("proposal: outcome %+v", got.Result)
	}
	out, err := b.g.Commit(ctx, CommitOptions{SelfUpdate: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.MergePendingCommit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.g.Process(ctx, out.Commit, attachRecorder("commit", &got)); err != nil {
		t.Fatal(err)
	}
	if !hasPut(rec.last(), "commit") || got.Result.Commit == nil || got.Epoch != out.Epoch || got.Result.Commit.Epoch != out.Epoch {
		t.Fatalf("commit: outcome %+v", got)
	}
	if _, err := a.g.Process(ctx, late, attachRecorder("late", &got)); err != nil {
		t.Fatal(err)
	}
	if !hasPut(rec.last(), "late") || string(got.Result.ApplicationData) != "late" {
		t.Fatalf("late message: outcome %+v", got.Result)
	}
}

// TestAttachFailureLeavesGroupUnchanged: an Attach error (or one naming an
// engine kind) aborts the transition: nothing stored, the group as before,
// and the same operation succeeds afterwards.
func TestAttachFailureLeavesGroupUnchanged(t *testing.T) {
	ctx := context.Background()
	a, b, rec := recordingPair(t, Options{})
	boom := errors.New("boom")
	for name, fn := range map[string]Attach{
		"error":       func(*Outcome) ([]Put, error) { return nil, boom },
		"engine kind": func(*Outcome) ([]Put, error) { return []Put{{Key: Key{Kind: KindState, Name: "x"}}}, nil },
	} {
		t.Run(name, func(t *testing.T) {
			before, n, epoch := a.st.Dump(), len(rec.batches), a.g.Epoch()
			msg, err := b.g.Encrypt(ctx, []byte("x"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.g.Process(ctx, msg, fn); err == nil {
				t.Fatal("process with a failing attach succeeded")
			}
			if _, err := a.g.Commit(ctx, CommitOptions{SelfUpdate: true, Merge: true, Attach: fn}); err == nil {
				t.Fatal("commit with a failing attach succeeded")
			}
			if _, err := a.g.Encrypt(ctx, []byte("x"), nil, fn); err == nil {
				t.Fatal("encrypt with a failing attach succeeded")
			}
			if len(rec.batches) != n || !maps.EqualFunc(before, a.st.Dump(), bytes.Equal) || a.g.Epoch() != epoch || a.g.HasPendingCommit() {
				t.Fatalf("failed transitions changed the group: %d batches, epoch %d, pending %v", len(rec.batches)-n, a.g.Epoch(), a.g.HasPendingCommit())
			}
			if r := deliver(t, msg, a); string(r[0].ApplicationData) != "x" {
				t.Fatal("message not processed after the failed attempt")
			}
		})
	}
}

// TestCommitMergeIsOneBatch: create-and-merge stores the new epoch and the
// attached commit in one batch and never a pending commit, with public and
// private handshakes.
func TestCommitMergeIsOneBatch(t *testing.T) {
	ctx := context.Background()
	for _, private := range []bool{false, true} {
		t.Run(fmt.Sprintf("private=%v", private), func(t *testing.T) {
			a, b, rec := recordingPair(t, Options{PrivateHandshake: private})
			n := len(rec.batches)
			carol := newMember("carol")
			var got *Outcome
			out, err := a.g.Commit(ctx, CommitOptions{Add: [][]byte{carol.keyPackage(t, suite1)}, Merge: true, Attach: attachRecorder("commit", &got)})
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.batches) != n+1 || !hasPut(rec.last(), "commit") {
				t.Fatalf("create-and-merge wrote %d batches; want one with the attached commit", len(rec.batches)-n)
			}
			for _, p := range rec.last().Puts {
				if p.Key.Kind == KindKeys && p.Key.Name == namePending {
					t.Fatal("create-and-merge stored a pending commit")
				}
			}
			if a.g.HasPendingCommit() || a.g.Epoch() != out.Epoch || got.Commit == nil || len(got.Commit.Added) != 1 ||
				!bytes.Equal(got.Message, out.Commit) || !bytes.Equal(got.Welcome, out.Welcome) || len(got.Members) != 3 {
				t.Fatalf("after create-and-merge: epoch %d (want %d), pending %v, outcome %+v", a.g.Epoch(), out.Epoch, a.g.HasPendingCommit(), got)
			}
			deliver(t, out.Commit, b)
			if carol.g, err = carol.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
				t.Fatal(err)
			}
			agree(t, a, b, carol)
			sendAndCheck(t, a, "after create-and-merge", b, carol)
			// Reloaded from storage, alice is in the same epoch.
			g, err := LoadGroup(ctx, rec, a.g.GroupID(), Options{PrivateHandshake: private})
			if err != nil {
				t.Fatal(err)
			}
			if g.Epoch() != out.Epoch || g.HasPendingCommit() {
				t.Fatalf("reloaded: epoch %d pending %v", g.Epoch(), g.HasPendingCommit())
			}
		})
	}
}

// TestAttachClientOperations: KeyPackages, Welcome joins and external joins
// store attached components in their own batch.
func TestAttachClientOperations(t *testing.T) {
	ctx := context.Background()
	a, b, _ := recordingPair(t, Options{})
	rec := &recordingStorage{MemStorage: NewMemStorage()}
	carol := &member{name: "carol", st: rec.MemStorage, client: NewClient(rec, []byte("carol"), Options{})}
	var got *Outcome
	kp, err := carol.client.CreateKeyPackage(ctx, suite1, false, attachRecorder("kp", &got))
	if err != nil {
		t.Fatal(err)
	}
	if !hasPut(rec.last(), "kp") || !bytes.Equal(got.Message, kp) {
		t.Fatalf("key package: outcome %+v", got)
	}
	out := commitAndDeliver(t, a, CommitOptions{Add: [][]byte{kp}}, b)
	if carol.g, err = carol.client.JoinFromWelcome(ctx, out.Welcome, nil, attachRecorder("welcome", &got)); err != nil {
		t.Fatal(err)
	}
	if !hasPut(rec.last(), "welcome") || got.Epoch != out.Epoch || len(got.Members) != 3 {
		t.Fatalf("welcome: outcome %+v", got)
	}
	gi, err := a.g.GroupInfo(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	leaf := carol.g.OwnIndex()
	g, commit, err := carol.client.JoinByExternalCommit(ctx, gi, nil, &leaf, attachRecorder("external", &got))
	if err != nil {
		t.Fatal(err)
	}
	carol.g = g
	if !hasPut(rec.last(), "external") || !bytes.Equal(got.Message, commit) || got.Epoch != g.Epoch() {
		t.Fatalf("external join: outcome %+v", got)
	}
	deliver(t, commit, a, b)
	agree(t, a, b, carol)
}

// TestAttachProcessSelfRemoval: the commit that removes this member stores
// the attached result in the batch that deletes the group.
func TestAttachProcessSelfRemoval(t *testing.T) {
	ctx := context.Background()
	a, b, rec := recordingPair(t, Options{})
	out := commitAndDeliver(t, b, CommitOptions{Remove: []uint32{a.g.OwnIndex()}})
	var got *Outcome
	res, err := a.g.Process(ctx, out.Commit, attachRecorder("removed", &got))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Commit.SelfRemoved || !got.Left || !hasPut(rec.last(), "removed") || len(rec.last().Deletes) == 0 {
		t.Fatalf("self-removal: result %+v, outcome %+v, last batch %d deletes", res.Commit, got, len(rec.last().Deletes))
	}
}
