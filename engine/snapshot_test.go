package engine

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// TestSnapshotRestore exports a member's group, imports it into fresh
// storage and checks the restored-epoch guard: no sending in the restored
// epoch, sending again once a commit (received, or its own self-update)
// moved the group to a new epoch.
func TestSnapshotRestore(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		advance func(t *testing.T, a, b *member)
	}{
		{"received commit", func(t *testing.T, a, b *member) { commitAndDeliver(t, b, CommitOptions{SelfUpdate: true}, a) }},
		{"own self-update", func(t *testing.T, a, b *member) { commitAndDeliver(t, a, CommitOptions{SelfUpdate: true}, b) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := twoMembers(t, Options{})
			sendAndCheck(t, a, "before snapshot", b)
			data, info, err := a.g.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if info.Epoch != a.g.Epoch() || !bytes.Equal(info.EpochAuthenticator, a.g.EpochAuthenticator()) || info.Size != len(data) {
				t.Fatalf("snapshot info %+v does not describe the group", info)
			}
			sendAndCheck(t, a, "after snapshot", b)

			// Disaster: alice's storage is lost; restore into a new one.
			restored := newMember("alice")
			if _, err := ImportSnapshot(ctx, restored.st, data, false); err != nil {
				t.Fatal(err)
			}
			if _, err := ImportSnapshot(ctx, restored.st, data, false); !errors.Is(err, ErrGroupExists) {
				t.Fatalf("second import without force: got %v, want ErrGroupExists", err)
			}
			if _, err := ImportSnapshot(ctx, restored.st, data, true); err != nil {
				t.Fatalf("forced import: %v", err)
			}
			restored.g, err = LoadGroup(ctx, restored.st, info.GroupID, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !restored.g.Restored() {
				t.Fatal("imported group not marked restored")
			}
			if _, err := restored.g.Encrypt(ctx, []byte("x"), nil); !errors.Is(err, ErrRestoredEpoch) {
				t.Fatalf("encrypt in restored epoch: got %v, want ErrRestoredEpoch", err)
			}
			c.advance(t, restored, b)
			agree(t, restored, b)
			if restored.g.Restored() {
				t.Fatal("still restored after a new epoch")
			}
			sendAndCheck(t, restored, "after restore", b)
			sendAndCheck(t, b, "to restored", restored)
		})
	}
}

// TestSnapshotRejectsDamage checks that truncated, bit-flipped and foreign
// data is refused with ErrCorrupt and writes nothing.
func TestSnapshotRejectsDamage(t *testing.T) {
	ctx := context.Background()
	a, _ := twoMembers(t, Options{})
	data, _, err := ExportSnapshot(ctx, a.st, a.g.GroupID())
	if err != nil {
		t.Fatal(err)
	}
	flip := bytes.Clone(data)
	flip[len(flip)/2] ^= 1
	for name, d := range map[string][]byte{
		"truncated":  data[:len(data)-1],
		"bit flip":   flip,
		"empty":      nil,
		"not a snap": []byte("hello world, this is not a snapshot at all......."),
	} {
		st := NewMemStorage()
		if _, err := ImportSnapshot(ctx, st, d, true); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %v, want ErrCorrupt", name, err)
		}
		if n := len(st.Dump()); n != 0 {
			t.Errorf("%s: %d components written", name, n)
		}
	}
}
