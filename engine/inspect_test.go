package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestInspectSnapshot reports members, epochs, tree hash and the restored
// mark of a snapshot, and no secret: no component value appears in the
// report.
func TestInspectSnapshot(t *testing.T) {
	ctx := context.Background()
	a, b := twoMembers(t, Options{})
	commitAndDeliver(t, b, CommitOptions{SelfUpdate: true}, a)
	data, info, err := a.g.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := InspectSnapshot(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Epoch != info.Epoch || rep.Epoch != 2 || rep.OwnIndex != a.g.OwnIndex() || rep.Restored || rep.Version != snapshotVersion {
		t.Fatalf("report %+v does not describe alice's group at epoch 2", rep)
	}
	if len(rep.Members) != 2 || string(rep.Members[1].Identity) != "bob" {
		t.Fatalf("members %+v", rep.Members)
	}
	fp := sha256.Sum256(b.g.Members()[1].SignatureKey)
	if !bytes.Equal(rep.Members[1].SignatureKeySHA256, fp[:]) {
		t.Fatal("bob's signature key fingerprint differs")
	}
	if len(rep.SecretEpochs) < 2 || rep.SecretEpochs[len(rep.SecretEpochs)-1] != 2 {
		t.Fatalf("secret epochs %v, want the retained ones ending at 2", rep.SecretEpochs)
	}
	if len(rep.Components) != info.Components {
		t.Fatalf("%d components reported, snapshot has %d", len(rep.Components), info.Components)
	}
	out, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, fmt.Sprintf("%+v %x", rep, rep.Members)...)
	_, comps, err := parseSnapshot(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range comps {
		// Private keys and ratchet secrets; epoch records also hold the
		// public GroupContext (tree hash, epoch authenticator) the report
		// shows on purpose.
		if c.Kind == KindState || (c.Kind == KindEpochSecrets && !strings.HasPrefix(c.Name, "ratchet_")) || len(c.Value) < 32 {
			continue
		}
		for i := 0; i+16 <= len(c.Value); i += 16 {
			w := c.Value[i : i+16]
			if bytes.Contains(out, w) || bytes.Contains(out, []byte(hex.EncodeToString(w))) || bytes.Contains(out, []byte(base64.StdEncoding.EncodeToString(w)[:20])) {
				t.Fatalf("the report shows bytes of %s/%s", c.Kind, c.Name)
			}
		}
	}
	// Restored after an import.
	st := NewMemStorage()
	if _, err := ImportSnapshot(ctx, st, data, false); err != nil {
		t.Fatal(err)
	}
	again, _, err := ExportSnapshot(ctx, st, info.GroupID)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := InspectSnapshot(ctx, again); err != nil || !rep.Restored {
		t.Fatalf("re-exported restored group: restored %v, %v", rep != nil && rep.Restored, err)
	}
	flip := bytes.Clone(data)
	flip[len(flip)/2] ^= 1
	if _, err := InspectSnapshot(ctx, flip); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged snapshot: %v, want ErrCorrupt", err)
	}
}
