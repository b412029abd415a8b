package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestRestoredMeetsOwnPrivateCommit: a restored member that meets a commit
// its lost state made must be told to re-join, also when handshakes are
// PrivateMessages. It cannot open its own PrivateMessage, and before this
// was answered ErrReplay ("replayed or expired message"), which a delivery
// loop takes for a message it already processed.
func TestRestoredMeetsOwnPrivateCommit(t *testing.T) {
	ctx := context.Background()
	for _, private := range []bool{false, true} {
		t.Run(fmt.Sprintf("private_handshake=%v", private), func(t *testing.T) {
			opts := Options{PrivateHandshake: private}
			a, b := twoMembers(t, opts)
			data, info, err := a.g.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			lost := commitAndDeliver(t, a, CommitOptions{SelfUpdate: true}, b)

			restored := newMember("alice")
			if _, err := ImportSnapshot(ctx, restored.st, data, false); err != nil {
				t.Fatal(err)
			}
			if restored.g, err = LoadGroup(ctx, restored.st, info.GroupID, opts); err != nil {
				t.Fatal(err)
			}
			_, err = restored.g.Process(ctx, lost.Commit)
			if !errors.Is(err, ErrInvalidCommit) || errors.Is(err, ErrReplay) || !strings.Contains(err.Error(), "re-join") {
				t.Fatalf("restored member processes its lost state's commit: %v; want ErrInvalidCommit saying to re-join", err)
			}
			if restored.g.Epoch() != info.Epoch || !restored.g.Restored() {
				t.Fatalf("after the refused commit: epoch %d restored %v, want epoch %d restored", restored.g.Epoch(), restored.g.Restored(), info.Epoch)
			}
		})
	}
}

// TestExternalCommitMayRemoveOnlyItsOwnOldLeaf: RFC 9420 §12.4.3.2 — an
// external joiner's Remove must be an old version of itself. Joining with
// another member's leaf as resync leaf is refused (the joiner and the
// members stage an external commit through the same checks).
func TestExternalCommitMayRemoveOnlyItsOwnOldLeaf(t *testing.T) {
	ctx := context.Background()
	a, b := twoMembers(t, Options{})
	gi, err := a.g.GroupInfo(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	mallory := newMember("mallory")
	victim := b.g.OwnIndex()
	if _, _, err := mallory.client.JoinByExternalCommit(ctx, gi, nil, &victim); !errors.Is(err, ErrInvalidCommit) {
		t.Fatalf("external join removing bob's leaf: %v, want ErrInvalidCommit", err)
	}
	// bob re-joining with his own old leaf works.
	bob2 := newMember("bob")
	g, commit, err := bob2.client.JoinByExternalCommit(ctx, gi, nil, &victim)
	if err != nil {
		t.Fatalf("bob re-joins with his own old leaf: %v", err)
	}
	bob2.g = g
	deliver(t, commit, a)
	agree(t, a, bob2)
}
