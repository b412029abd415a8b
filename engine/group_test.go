package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/suite"
)

// member is one simulated client with its own storage.
type member struct {
	name   string
	st     *MemStorage
	client *Client
	g      *Group
}

func newMember(name string) *member {
	st := NewMemStorage()
	return &member{name: name, st: st, client: NewClient(st, []byte(name), Options{})}
}

func (m *member) keyPackage(t testing.TB, id suite.ID) []byte {
	t.Helper()
	kp, err := m.client.CreateKeyPackage(context.Background(), id, false)
	if err != nil {
		t.Fatalf("%s: key package: %v", m.name, err)
	}
	return kp
}

// deliver processes msg at every member in ms and fails on any error.
func deliver(t testing.TB, msg []byte, ms ...*member) []*Result {
	t.Helper()
	var out []*Result
	for _, m := range ms {
		r, err := m.g.Process(context.Background(), msg)
		if err != nil {
			t.Fatalf("%s: process: %v", m.name, err)
		}
		out = append(out, r)
	}
	return out
}

// agree checks that every member is in the same epoch with the same epoch
// authenticator and exporter output.
func agree(t *testing.T, ms ...*member) {
	t.Helper()
	want := ms[0].g.EpochAuthenticator()
	wantExp, err := ms[0].g.Export("test", []byte("ctx"), 32)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[1:] {
		if got := m.g.EpochAuthenticator(); !bytes.Equal(got, want) {
			t.Fatalf("%s epoch %d authenticator %x, %s epoch %d has %x", m.name, m.g.Epoch(), got, ms[0].name, ms[0].g.Epoch(), want)
		}
		if got, _ := m.g.Export("test", []byte("ctx"), 32); !bytes.Equal(got, wantExp) {
			t.Fatalf("%s exporter differs", m.name)
		}
	}
}

// commitAndDeliver has from commit o, merges it and delivers it to others.
func commitAndDeliver(t testing.TB, from *member, o CommitOptions, others ...*member) *CommitOutput {
	t.Helper()
	ctx := context.Background()
	out, err := from.g.Commit(ctx, o)
	if err != nil {
		t.Fatalf("%s: commit: %v", from.name, err)
	}
	if _, err := from.g.MergePendingCommit(ctx); err != nil {
		t.Fatalf("%s: merge: %v", from.name, err)
	}
	deliver(t, out.Commit, others...)
	return out
}

func sendAndCheck(t *testing.T, from *member, text string, to ...*member) {
	t.Helper()
	ct, err := from.g.Encrypt(context.Background(), []byte(text), []byte("aad"))
	if err != nil {
		t.Fatalf("%s: encrypt: %v", from.name, err)
	}
	for _, r := range deliver(t, ct, to...) {
		if r.Kind != ContentApplication || string(r.ApplicationData) != text || r.Sender != from.g.OwnIndex() {
			t.Fatalf("got %+v, want application %q from %d", r, text, from.g.OwnIndex())
		}
	}
}

func reload(t *testing.T, m *member) {
	t.Helper()
	g, err := LoadGroup(context.Background(), m.st, m.g.GroupID(), Options{})
	if err != nil {
		t.Fatalf("%s: reload: %v", m.name, err)
	}
	m.g = g
}

// TestGroupLifecycle runs a group of in-memory members through adds,
// self-updates, update proposals, removes and application messages in every
// cipher suite, reloading members from storage along the way, and checks
// that all members agree at every epoch.
func TestGroupLifecycle(t *testing.T) {
	for _, id := range suite.All() {
		t.Run(fmt.Sprint(id), func(t *testing.T) { testLifecycle(t, id) })
	}
}

func testLifecycle(t *testing.T, id suite.ID) {
	ctx := context.Background()
	a, b, c, d := newMember("alice"), newMember("bob"), newMember("carol"), newMember("dave")
	var err error
	if a.g, err = a.client.CreateGroup(ctx, id, nil); err != nil {
		t.Fatal(err)
	}
	out := commitAndDeliver(t, a, CommitOptions{Add: [][]byte{b.keyPackage(t, id), c.keyPackage(t, id)}})
	for _, m := range []*member{b, c} {
		if m.g, err = m.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
			t.Fatalf("%s: join: %v", m.name, err)
		}
	}
	agree(t, a, b, c)
	sendAndCheck(t, a, "hello from alice", b, c)
	sendAndCheck(t, c, "hello from carol", a, b)

	// Bob self-updates; Carol is reloaded from storage first.
	reload(t, c)
	commitAndDeliver(t, b, CommitOptions{SelfUpdate: true}, a, c)
	agree(t, a, b, c)

	// Carol proposes an update, Alice commits it by reference and adds Dave.
	prop, err := c.g.ProposeUpdate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, prop, a, b)
	out = commitAndDeliver(t, a, CommitOptions{Add: [][]byte{d.keyPackage(t, id)}}, b, c)
	if d.g, err = d.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
		t.Fatalf("dave: join: %v", err)
	}
	agree(t, a, b, c, d)
	sendAndCheck(t, d, "hello from dave", a, b, c)
	sendAndCheck(t, c, "carol after update", a, b, d)

	// Alice removes Bob; Bob learns it and can no longer use the group.
	reload(t, a)
	out = commitAndDeliver(t, a, CommitOptions{Remove: []uint32{b.g.OwnIndex()}}, c, d)
	rs := deliver(t, out.Commit, b)
	if ci := rs[0].Commit; ci == nil || !ci.SelfRemoved {
		t.Fatalf("bob: got %+v, want self-removed commit", rs[0])
	}
	if _, err := b.g.Encrypt(ctx, []byte("x"), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("bob encrypt after removal: got %v, want ErrClosed", err)
	}
	agree(t, a, c, d)
	if got, want := len(a.g.Members()), 3; got != want {
		t.Fatalf("members %d, want %d", got, want)
	}
	sendAndCheck(t, a, "bye bob", c, d)
	reload(t, d)
	sendAndCheck(t, d, "after reload", a, c)
	commitAndDeliver(t, d, CommitOptions{}, a, c)
	agree(t, a, c, d)
}
