package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestRandomOperations runs random sequences of adds, removes, self-updates,
// update proposals, application messages and reloads over 3–8 in-memory
// members and checks after every step that all members share the epoch
// authenticator, that every member decrypts every message, and that removed
// members (reloaded from their last stored state) decrypt nothing sent
// after their removal.
func TestRandomOperations(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4}
	steps := 40
	if testing.Short() {
		seeds, steps = seeds[:1], 15
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { randomRun(t, seed, steps) })
	}
}

func randomRun(t *testing.T, seed uint64, steps int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, seed))
	next := 0
	fresh := func() *member {
		next++
		return newMember(fmt.Sprintf("m%d", next))
	}
	first := fresh()
	var err error
	if first.g, err = first.client.CreateGroup(ctx, suite1, nil); err != nil {
		t.Fatal(err)
	}
	members := []*member{first}
	var removed []*member // reloaded copies of removed members
	others := func(m *member) []*member {
		var out []*member
		for _, o := range members {
			if o != m {
				out = append(out, o)
			}
		}
		return out
	}
	add := func(committer *member) {
		var kps [][]byte
		var joining []*member
		for n := 1 + rng.IntN(2); n > 0 && len(members)+len(joining) < 8; n-- {
			j := fresh()
			kps = append(kps, j.keyPackage(t, suite1))
			joining = append(joining, j)
		}
		out := commitAndDeliver(t, committer, CommitOptions{Add: kps}, others(committer)...)
		for _, j := range joining {
			if j.g, err = j.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
				t.Fatalf("%s: join: %v", j.name, err)
			}
		}
		members = append(members, joining...)
	}
	for len(members) < 3 {
		add(members[0])
	}
	counts := map[string]int{}
	defer func() { t.Logf("operations: %v; %d members at the end", counts, len(members)) }()
	for step := 0; step < steps; step++ {
		actor := members[rng.IntN(len(members))]
		op := rng.IntN(6)
		switch {
		case op == 0 && len(members) < 8:
			counts["add"]++
			add(actor)
		case op == 1 && len(members) > 3:
			counts["remove"]++
			victim := others(actor)[rng.IntN(len(members)-1)]
			// Keep the victim's stored state as it is before its removal.
			copyStore := NewMemStorage()
			restoreDump(t, copyStore, victim.st.Dump())
			commitAndDeliver(t, actor, CommitOptions{Remove: []uint32{victim.g.OwnIndex()}}, others(actor)...)
			var kept []*member
			for _, m := range members {
				if m != victim {
					kept = append(kept, m)
				}
			}
			members = kept
			g, err := LoadGroup(ctx, copyStore, victim.g.GroupID(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			removed = append(removed, &member{name: victim.name + "(removed)", st: copyStore, g: g})
		case op == 2:
			counts["self-update"]++
			commitAndDeliver(t, actor, CommitOptions{SelfUpdate: true}, others(actor)...)
		case op == 3:
			counts["update-proposal"]++
			prop, err := actor.g.ProposeUpdate(ctx)
			if err != nil {
				t.Fatal(err)
			}
			deliver(t, prop, others(actor)...)
			committer := others(actor)[rng.IntN(len(members)-1)]
			commitAndDeliver(t, committer, CommitOptions{}, others(committer)...)
		case op == 4:
			counts["reload"]++
			reload(t, actor)
		default:
			counts["message"]++
			text := fmt.Sprintf("step %d from %s", step, actor.name)
			ct, err := actor.g.Encrypt(ctx, []byte(text), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range deliver(t, ct, others(actor)...) {
				if string(r.ApplicationData) != text {
					t.Fatalf("step %d: got %q, want %q", step, r.ApplicationData, text)
				}
			}
			for _, r := range removed {
				if res, err := r.g.Process(ctx, ct); err == nil {
					t.Fatalf("step %d: removed %s decrypted %q", step, r.name, res.ApplicationData)
				}
			}
		}
		agree(t, members...)
	}
}

// restoreDump copies a MemStorage.Dump into st.
func restoreDump(t *testing.T, st *MemStorage, dump map[string][]byte) {
	t.Helper()
	st.mu.Lock()
	defer st.mu.Unlock()
	for k, v := range dump {
		st.data[k] = v
	}
}
