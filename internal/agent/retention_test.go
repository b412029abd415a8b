package agent

import (
	"errors"
	"fmt"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
)

// TestEpochRetentionKeepsConfiguredPastEpochs: store.epoch_retention: N
// keeps N past epochs besides the current one (it kept N-1): a late
// message of each of the N previous epochs decrypts, one N+1 epochs old
// does not. Checked with the configured default (10) in the running agent,
// and again after a restart, when the group's retained epochs come from
// the data directory (localstore's retention as well as the engine's).
func TestEpochRetentionKeepsConfiguredPastEpochs(t *testing.T) {
	ctx := ctxT(t)
	alice := newTestAgent(t, agentOpts{identity: "alice"})
	bob := newTestAgent(t, agentOpts{identity: "bob"})
	n := alice.cfg.Store.EpochRetention
	if n != 10 {
		t.Fatalf("default store.epoch_retention = %d, docs/configuration.md says 10", n)
	}
	gid := []byte("late")
	twoMemberGroup(ctx, t, alice, bob, gid)
	// bob sends two messages in each epoch that alice only receives late:
	// one before and one after alice's restart.
	type late struct {
		epoch  uint64
		before []byte
		after  []byte
	}
	var msgs []late
	for range n + 2 {
		info, err := bob.c.Info(ctx, gid)
		if err != nil {
			t.Fatal(err)
		}
		l := late{epoch: info.Epoch}
		for _, m := range []*[]byte{&l.before, &l.after} {
			sent, err := bob.c.Send(ctx, gid, SendRequest{Text: fmt.Sprintf("epoch %d", info.Epoch)})
			if err != nil {
				t.Fatal(err)
			}
			*m = sent.Message
		}
		msgs = append(msgs, l)
		up, err := alice.c.Update(ctx, gid, UpdateRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bob.c.Receive(ctx, ReceiveRequest{Message: up.Commit}); err != nil {
			t.Fatal(err)
		}
	}
	info, err := alice.c.Info(ctx, gid)
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string, msg func(late) []byte) {
		t.Helper()
		for _, l := range msgs {
			age := info.Epoch - l.epoch
			got, err := alice.c.Receive(ctx, ReceiveRequest{Message: msg(l)})
			switch {
			case age <= uint64(n) && err != nil:
				t.Errorf("%s: message %d epochs old (epoch %d, current %d): %v; want it decrypted", when, age, l.epoch, info.Epoch, err)
			case age <= uint64(n) && string(got.Data) != fmt.Sprintf("epoch %d", l.epoch):
				t.Errorf("%s: message %d epochs old decrypted to %q", when, age, got.Data)
			case age > uint64(n) && !errors.Is(err, engine.ErrWrongEpoch):
				t.Errorf("%s: message %d epochs old (retention %d): %v; want wrong_epoch", when, age, n, err)
			}
		}
	}
	check("running agent", func(l late) []byte { return l.before })
	alice.stop()
	alice.start(0)
	check("after a restart", func(l late) []byte { return l.after })
}
