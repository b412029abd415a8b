package engine

import (
	"context"
	"errors"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
)

// engineSentinels are the errors every bad-input failure must wrap.
var engineSentinels = []error{
	ErrWrongEpoch, ErrWrongGroup, ErrBadSignature, ErrBadMembershipTag, ErrBadConfirmationTag,
	ErrDecrypt, ErrMalformed, ErrReplay, ErrTooLarge, ErrNotMember, ErrInvalidProposal,
	ErrInvalidCommit, ErrInvalidWelcome, ErrInvalidKeyPackage, ErrNoKeyPackage, ErrUnknownPSK,
	ErrUnsupported, ErrCorrupt, ErrGroupExists,
}

func isTyped(err error) bool {
	for _, s := range engineSentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// fuzzSeeds returns real messages: the messages vectors and a live group's
// commit, proposal, application message and Welcome.
func fuzzSeeds(f *testing.F, a, b *member) [][]byte {
	f.Helper()
	ctx := context.Background()
	var vs []messagesVector
	if err := vectors.Load("messages", &vs); err != nil {
		f.Fatal(err)
	}
	var seeds [][]byte
	for _, v := range vs[:min(len(vs), 20)] {
		seeds = append(seeds, v.PublicMessageProposal, v.PublicMessageCommit, v.PrivateMessage, v.MLSWelcome, v.MLSGroupInfo)
	}
	app, err := a.g.Encrypt(ctx, []byte("seed"), nil)
	if err != nil {
		f.Fatal(err)
	}
	prop, err := a.g.ProposeUpdate(ctx)
	if err != nil {
		f.Fatal(err)
	}
	out, err := a.g.Commit(ctx, CommitOptions{Add: [][]byte{newMember("c").keyPackage(f, suite1)}})
	if err != nil {
		f.Fatal(err)
	}
	if err := a.g.ClearPendingCommit(ctx); err != nil {
		f.Fatal(err)
	}
	return append(seeds, app, prop, out.Commit, out.Welcome)
}

// FuzzProcess feeds arbitrary bytes to Group.Process: no panic, and every
// failure is typed and leaves storage unchanged.
func FuzzProcess(f *testing.F) {
	a, b := twoMembersF(f)
	for _, s := range fuzzSeeds(f, a, b) {
		f.Add(s)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, msg []byte) {
		before := b.st.Dump()
		if _, err := b.g.Process(ctx, msg); err != nil {
			if !isTyped(err) {
				t.Fatalf("untyped error: %v", err)
			}
			if !sameDump(before, b.st.Dump()) {
				t.Fatalf("failed message changed storage: %v", err)
			}
		}
	})
}

// FuzzJoinFromWelcome feeds arbitrary Welcome bytes to a client holding a
// KeyPackage: no panic, typed errors, storage unchanged on failure.
func FuzzJoinFromWelcome(f *testing.F) {
	a, b := twoMembersF(f)
	for _, s := range fuzzSeeds(f, a, b) {
		f.Add(s)
	}
	c := newMember("c")
	c.keyPackage(f, suite1)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, msg []byte) {
		before := c.st.Dump()
		if _, err := c.client.JoinFromWelcome(ctx, msg, nil); err != nil {
			if !isTyped(err) {
				t.Fatalf("untyped error: %v", err)
			}
			if !sameDump(before, c.st.Dump()) {
				t.Fatalf("failed join changed storage: %v", err)
			}
		}
	})
}

// FuzzImportSnapshot feeds arbitrary bytes to ImportSnapshot.
func FuzzImportSnapshot(f *testing.F) {
	a, _ := twoMembersF(f)
	data, _, err := ExportSnapshot(context.Background(), a.st, a.g.GroupID())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) {
		st := NewMemStorage()
		if _, err := ImportSnapshot(context.Background(), st, data, false); err != nil {
			if !isTyped(err) {
				t.Fatalf("untyped error: %v", err)
			}
			if len(st.Dump()) != 0 {
				t.Fatal("failed import wrote components")
			}
		}
	})
}
