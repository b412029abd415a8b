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
