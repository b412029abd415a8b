package quickstart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/restore"
)

// script is the scenario of the package doc.
func (d *demo) script(ctx context.Context) error {
	alice, bob, carol, dave := d.byName["alice"], d.byName["bob"], d.byName["carol"], d.byName["dave"]
	d.say("four members, each with its own data directory under %s/members; backups every %d epochs to %s, encrypted to %s",
		d.opts.Dir, d.every, d.sum.Destination, d.sum.Recipient)
	for _, m := range d.members {
		if err := m.open(ctx); err != nil {
			return err
		}
	}
	if err := d.create(ctx, alice); err != nil {
		return err
	}
	if err := d.grow(ctx, alice, bob, carol, dave); err != nil {
		return err
	}
	if err := d.wipeAndRestore(ctx, alice, bob, carol); err != nil {
		return err
	}
	d.sum.Epoch = alice.group.Epoch()
	return nil
}

// grow runs the epochs before the disk loss.
func (d *demo) grow(ctx context.Context, alice, bob, carol, dave *member) error {
	kpBob, err := d.keyPackage(ctx, bob)
	if err != nil {
		return err
	}
	kpCarol, err := d.keyPackage(ctx, carol)
	if err != nil {
		return err
	}
	steps := []func() error{
		func() error {
			return d.commit(ctx, alice, engine.CommitOptions{Add: [][]byte{kpBob, kpCarol}}, "added bob and carol", bob, carol)
		},
		func() error { return d.send(ctx, alice, "hello bob, hello carol") },
		func() error { return d.commit(ctx, bob, engine.CommitOptions{SelfUpdate: true}, "updated his keys") },
		func() error { return d.send(ctx, bob, "hi alice") },
		func() error {
			kp, err := d.keyPackage(ctx, dave)
			if err != nil {
				return err
			}
			return d.commit(ctx, alice, engine.CommitOptions{Add: [][]byte{kp}}, "added dave", dave)
		},
		func() error { return d.send(ctx, dave, "glad to be here") },
		func() error { return d.commit(ctx, carol, engine.CommitOptions{SelfUpdate: true}, "updated her keys") },
		func() error { return d.commit(ctx, dave, engine.CommitOptions{SelfUpdate: true}, "updated his keys") },
		func() error {
			idx, ok := indexOf(alice.group, dave.name)
			if !ok {
				return errors.New("dave is not in alice's group")
			}
			if err := d.snapshot(ctx, alice, "before removing a member"); err != nil {
				return err
			}
			return d.commit(ctx, alice, engine.CommitOptions{Remove: []uint32{idx}}, "removed dave")
		},
		func() error { return d.send(ctx, carol, "the three of us again") },
		func() error { return d.commit(ctx, carol, engine.CommitOptions{SelfUpdate: true}, "updated her keys") },
		func() error { return d.commit(ctx, alice, engine.CommitOptions{SelfUpdate: true}, "updated her keys") },
		func() error { return d.send(ctx, bob, "see you tomorrow") },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

// wipeAndRestore wipes bob's data directory, lets the group move on, restores
// bob from his backups and has him catch up.
func (d *demo) wipeAndRestore(ctx context.Context, alice, bob, carol *member) error {
	lost := bob.group.Epoch()
	if err := bob.close(); err != nil {
		return err
	}
	if err := os.RemoveAll(bob.dir); err != nil {
		return fmt.Errorf("wipe bob's data directory: %w", err)
	}
	bob.group = nil
	d.say("DISASTER: bob's disk is gone (%s deleted at epoch %d)", bob.dir, lost)
	if err := d.commit(ctx, carol, engine.CommitOptions{SelfUpdate: true}, "updated her keys while bob is offline"); err != nil {
		return err
	}

	if err := bob.open(ctx); err != nil {
		return err
	}
	res, err := restore.Run(ctx, bob.backup, restore.StoreTarget{Storage: bob.store}, restore.Request{All: true}, restore.Options{Logger: d.opts.Logger})
	if err != nil {
		return fmt.Errorf("restore bob: %w", err)
	}
	r := res[0]
	d.sum.RestoredFrom = r.Snapshot
	d.say("RESTORE: bob's group %q restored from %s (epoch %d): downloaded, decrypted, checksums, group id, epoch and epoch authenticator verified, imported in one atomic step",
		r.Group, r.Snapshot.Key, r.Snapshot.Epoch)
	if bob.group, err = engine.LoadGroup(ctx, bob.store, []byte(GroupID), engine.Options{}); err != nil {
		return fmt.Errorf("load bob's restored group: %w", err)
	}
	if _, err := bob.group.Encrypt(ctx, []byte("too early"), nil); !errors.Is(err, engine.ErrRestoredEpoch) {
		return fmt.Errorf("bob could send in the restored epoch (err %v); restored groups must refuse", err)
	}
	d.say("  bob may not send: the ratchet keys his lost state used after the snapshot (in epoch %d and in any epoch it reached later) are unknown", bob.group.Epoch())

	from := bob.group.Epoch()
	for i, c := range d.commits {
		if d.epochOf[i] < from {
			continue
		}
		if _, err := bob.group.Process(ctx, c); err != nil {
			return fmt.Errorf("bob processes missed commit of epoch %d: %w", d.epochOf[i], err)
		}
		d.sum.Missed++
		if err := d.epochReached(ctx, bob); err != nil {
			return err
		}
	}
	if !bytes.Equal(bob.group.EpochAuthenticator(), alice.group.EpochAuthenticator()) {
		return errors.New("bob's epoch authenticator differs from alice's after catching up")
	}
	d.say("CATCH-UP: bob processed the %d commits he missed (epoch %d -> %d); his epoch authenticator equals alice's",
		d.sum.Missed, from, bob.group.Epoch())
	if err := d.send(ctx, alice, "welcome back, bob"); err != nil {
		return err
	}
	if _, err := bob.group.Encrypt(ctx, []byte("too early"), nil); !errors.Is(err, engine.ErrRestoredEpoch) {
		return fmt.Errorf("bob could send after catching up (err %v); only his own commit may clear the restored mark", err)
	}
	d.say("  bob still may not send: his lost state may have reached epoch %d and sent in it", bob.group.Epoch())
	if err := d.commit(ctx, bob, engine.CommitOptions{SelfUpdate: true}, "updated his keys (his first commit since the restore: its epoch is one the lost state never had)"); err != nil {
		return err
	}
	d.sum.SentEpoch = bob.group.Epoch()
	return d.send(ctx, bob, "thanks, I am back")
}
