package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/secrettree"
)

// TestSenderKeepsNoSentKeyOnDisk is issue 18's first defect: a member that
// only sends kept the keys of its own sent messages in storage, because
// the stored epoch record kept the secret tree's root (and sends inside
// the generation lease wrote nothing). After every message, and across
// leases, a commit, a reload and an Attach (the agent's outbox writes a
// batch per message), every epoch record in the sender's storage is
// decoded as it is stored — without the lease skip a load does — and must
// neither give the key of any generation the sender used nor hold the
// secret of a node on the sender's path (RFC 9420 §9.2).
func TestSenderKeepsNoSentKeyOnDisk(t *testing.T) {
	ctx := context.Background()
	for _, block := range []uint32{DefaultLeaseBlock, 1} {
		for _, attach := range []bool{false, true} {
			t.Run(fmt.Sprintf("lease=%d/attach=%v", block, attach), func(t *testing.T) {
				opts := Options{LeaseBlock: block}
				a, b := twoMembers(t, opts)
				var extra []Attach
				if attach {
					n := 0
					extra = append(extra, func(o *Outcome) ([]Put, error) {
						n++
						return []Put{{Key: Key{Group: o.GroupID, Kind: "outbox", Name: fmt.Sprint(n)}, Value: o.Message}}, nil
					})
				}
				used := map[uint64][]uint32{} // epoch → own generations used
				me := uint32(a.g.OwnIndex())
				send := func(count int) {
					t.Helper()
					for range count {
						epoch := a.g.Epoch()
						gen, err := a.g.s.secrets.Generation(me, secrettree.Application)
						if err != nil {
							t.Fatal(err)
						}
						if _, err := a.g.Encrypt(ctx, []byte("m"), nil, extra...); err != nil {
							t.Fatal(err)
						}
						used[epoch] = append(used[epoch], uint32(gen))
						checkNoSentKeyStored(t, a, me, used)
					}
				}
				send(int(DefaultLeaseBlock) + 3) // a lease ends on the way
				commitAndDeliver(t, b, CommitOptions{SelfUpdate: true}, a)
				checkNoSentKeyStored(t, a, me, used)
				send(5)
				g, err := LoadGroup(ctx, a.st, a.g.GroupID(), opts)
				if err != nil {
					t.Fatal(err)
				}
				a.g = g
				send(3)
				commitAndDeliver(t, a, CommitOptions{SelfUpdate: true}, b)
				checkNoSentKeyStored(t, a, me, used)
			})
		}
	}
}

// checkNoSentKeyStored fails if an epoch record stored for m gives the
// key of a generation m used (used: epoch → generations), or holds a node
// secret on the path of m's leaf me.
func checkNoSentKeyStored(t *testing.T, m *member, me uint32, used map[uint64][]uint32) {
	t.Helper()
	ctx := context.Background()
	gid := m.g.GroupID()
	names, err := m.st.List(ctx, gid, KindEpochSecrets)
	if err != nil {
		t.Fatal(err)
	}
	ratchets := map[uint64][][]byte{}
	for _, n := range names {
		if e, _, ok := parseRatchetName(n); ok {
			v, err := m.st.Get(ctx, Key{Group: gid, Kind: KindEpochSecrets, Name: n})
			if err != nil {
				t.Fatal(err)
			}
			ratchets[e] = append(ratchets[e], v)
		}
	}
	for _, n := range names {
		e, ok := parseEpochName(n)
		if !ok {
			continue
		}
		v, err := m.st.Get(ctx, Key{Group: gid, Kind: KindEpochSecrets, Name: n})
		if err != nil {
			t.Fatal(err)
		}
		_, _, st, err := decodeEpoch(v, ratchets[e], false)
		if err != nil {
			t.Fatal(err)
		}
		for _, gen := range used[e] {
			if _, _, err := st.Peek(me, secrettree.Application, gen); !errors.Is(err, secrettree.ErrStale) {
				t.Fatalf("epoch %d: the stored record gives the key of sent generation %d (Peek: %v)", e, gen, err)
			}
		}
		if len(used[e]) > 0 && !slices.Contains(st.LeavesWithRatchets(), me) {
			t.Fatalf("epoch %d: generations were sent but the stored record derives the sender's leaf from a node above it", e)
		}
	}
}

// TestSnapshotHoldsNoOwnSendingKey: a snapshot exports the member's own
// ratchets exhausted, so it yields the key of no message the member sent,
// before or after the snapshot was cut (a restored member never sends
// with them), while the restored member still opens what others send.
func TestSnapshotHoldsNoOwnSendingKey(t *testing.T) {
	ctx := context.Background()
	opts := Options{LeaseBlock: 4}
	a, b := twoMembers(t, opts)
	me := uint32(a.g.OwnIndex())
	for range 2 {
		sendAndCheck(t, a, "before the snapshot", b)
	}
	data, info, err := a.g.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		sendAndCheck(t, a, "after the snapshot", b)
	}
	_, comps, err := parseSnapshot(data)
	if err != nil {
		t.Fatal(err)
	}
	snap := NewMemStorage()
	for _, c := range comps {
		if err := snap.Apply(ctx, &Batch{Op: "test", Group: info.GroupID, Puts: []Put{{Key: Key{Group: info.GroupID, Kind: c.Kind, Name: c.Name}, Value: c.Value}}}); err != nil {
			t.Fatal(err)
		}
	}
	used := map[uint64][]uint32{info.Epoch: {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}}
	checkNoSentKeyStored(t, &member{name: "snapshot", st: snap, g: a.g}, me, used)

	restored := newMember("alice")
	if _, err := ImportSnapshot(ctx, restored.st, data, false); err != nil {
		t.Fatal(err)
	}
	if restored.g, err = LoadGroup(ctx, restored.st, info.GroupID, opts); err != nil {
		t.Fatal(err)
	}
	msg, err := b.g.Encrypt(ctx, []byte("to the restored member"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := restored.g.Process(ctx, msg); err != nil || string(res.ApplicationData) != "to the restored member" {
		t.Fatalf("the restored member opens bob's message: %+v, %v", res, err)
	}
}
