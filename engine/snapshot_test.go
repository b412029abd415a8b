package engine

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// TestSnapshotRestore exports a member's group, imports it into fresh
// storage and checks the restored mark: no sending after the restore,
// none after processing another member's commit either (the lost state may
// have reached that epoch and sent in it), sending again once the member
// merged a commit of its own. The restored member's commit carries an
// UpdatePath and is a PublicMessage even with private handshakes.
func TestSnapshotRestore(t *testing.T) {
	ctx := context.Background()
	selfUpdate := func(t *testing.T, a, b *member) *CommitOutput {
		return commitAndDeliver(t, a, CommitOptions{SelfUpdate: true}, b)
	}
	for _, c := range []struct {
		name      string
		opts      Options
		others    bool // b commits first, and a catches up
		ownCommit func(t *testing.T, a, b *member) *CommitOutput
	}{
		{"own self-update", Options{}, false, selfUpdate},
		{"received commit, then own self-update", Options{}, true, selfUpdate},
		{"private handshake", Options{PrivateHandshake: true}, true, selfUpdate},
		{"own add without self-update", Options{}, true, func(t *testing.T, a, b *member) *CommitOutput {
			return commitAndDeliver(t, a, CommitOptions{Add: [][]byte{newMember("carol").keyPackage(t, suite1)}}, b)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := twoMembers(t, c.opts)
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
			restored.g, err = LoadGroup(ctx, restored.st, info.GroupID, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !restored.g.Restored() {
				t.Fatal("imported group not marked restored")
			}
			if _, err := restored.g.Encrypt(ctx, []byte("x"), nil); !errors.Is(err, ErrRestoredEpoch) {
				t.Fatalf("encrypt in restored epoch: got %v, want ErrRestoredEpoch", err)
			}
			if c.others {
				commitAndDeliver(t, b, CommitOptions{SelfUpdate: true}, restored)
				if !restored.g.Restored() {
					t.Fatal("restored mark cleared by another member's commit")
				}
				if _, err := restored.g.Encrypt(ctx, []byte("x"), nil); !errors.Is(err, ErrRestoredEpoch) {
					t.Fatalf("encrypt after another member's commit: got %v, want ErrRestoredEpoch", err)
				}
			}
			out := c.ownCommit(t, restored, b)
			m, err := wire.ParseMLSMessage(out.Commit, 0)
			if err != nil {
				t.Fatal(err)
			}
			if m.WireFormat != wire.WireFormatPublicMessage || m.PublicMessage.Content.Commit.Path == nil {
				t.Fatalf("restored member's commit: wire format %d, path %v; want a PublicMessage with a path", m.WireFormat, m.PublicMessage != nil && m.PublicMessage.Content.Commit.Path != nil)
			}
			agree(t, restored, b)
			if restored.g.Restored() {
				t.Fatal("still restored after merging its own commit")
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
