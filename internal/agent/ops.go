package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/engine/suite"
)

// DefaultCipherSuite is the suite of groups and KeyPackages when a request
// names none: MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519.
const DefaultCipherSuite = suite.X25519AES128GCMSHA256Ed25519

// suiteOf returns the requested suite or the default.
func suiteOf(cs uint16) suite.ID {
	if cs == 0 {
		return DefaultCipherSuite
	}
	return suite.ID(cs)
}

// KeyPackage creates a KeyPackage others can add this member with.
func (a *Agent) KeyPackage(ctx context.Context, cipherSuite uint16, lastResort bool) ([]byte, error) {
	done, err := a.begin()
	if err != nil {
		return nil, err
	}
	defer done()
	kp, err := a.client.CreateKeyPackage(ctx, suiteOf(cipherSuite), lastResort)
	if err != nil {
		return nil, fmt.Errorf("create key package: %w", err)
	}
	return kp, nil
}

// Create creates a group with this member alone in it; a nil id picks a
// random one.
func (a *Agent) Create(ctx context.Context, id []byte, cipherSuite uint16) (GroupInfo, error) {
	done, err := a.begin()
	if err != nil {
		return GroupInfo{}, err
	}
	defer done()
	if len(id) == 0 {
		id = make([]byte, 16)
		if _, err := rand.Read(id); err != nil {
			return GroupInfo{}, fmt.Errorf("random group id: %w", err)
		}
	}
	var info GroupInfo
	err = a.withEntry(id, func(e *groupEntry) error {
		ok, err := a.exists(ctx, id)
		if err != nil {
			return err
		}
		if ok {
			return fmt.Errorf("create group %x: %w", id, engine.ErrGroupExists)
		}
		g, err := a.client.CreateGroup(ctx, suiteOf(cipherSuite), id)
		if err != nil {
			return fmt.Errorf("create group %x: %w", id, err)
		}
		e.g, e.pending = g, nil
		a.noteEpoch(ctx, e, id, g.Epoch())
		info = a.describe(g)
		return nil
	})
	if err == nil {
		a.log.Info("group created", "group", info.GroupID)
	}
	return info, err
}

// commit creates a commit with o and merges it unless noMerge.
func (a *Agent) commit(ctx context.Context, id []byte, o engine.CommitOptions, noMerge bool, op string) (CommitResponse, error) {
	resp := CommitResponse{GroupID: hex.EncodeToString(id)}
	err := a.withGroup(ctx, id, func(e *groupEntry) error {
		out, err := a.createCommit(ctx, e, id, o, noMerge)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		resp.Commit, resp.Welcome, resp.Epoch = out.Commit, out.Welcome, out.Epoch
		if noMerge {
			return nil
		}
		resp.Merged = true
		a.noteEpoch(ctx, e, id, e.g.Epoch())
		return nil
	})
	if err != nil {
		return CommitResponse{}, err
	}
	a.log.Info("commit created", "op", op, "group", resp.GroupID, "epoch", resp.Epoch, "merged", resp.Merged)
	return resp, nil
}

// Add commits adding the members of the KeyPackages; the response carries
// the Welcome for them.
func (a *Agent) Add(ctx context.Context, id []byte, keyPackages [][]byte, noMerge bool) (CommitResponse, error) {
	done, err := a.begin()
	if err != nil {
		return CommitResponse{}, err
	}
	defer done()
	if len(keyPackages) == 0 {
		return CommitResponse{}, fmt.Errorf("add: %w: no key packages", ErrInvalidArgument)
	}
	return a.commit(ctx, id, engine.CommitOptions{Add: keyPackages}, noMerge, "add")
}

// Update commits a self-update (fresh leaf and path keys, a new epoch).
func (a *Agent) Update(ctx context.Context, id []byte, noMerge bool) (CommitResponse, error) {
	done, err := a.begin()
	if err != nil {
		return CommitResponse{}, err
	}
	defer done()
	return a.commit(ctx, id, engine.CommitOptions{SelfUpdate: true}, noMerge, "update")
}

// Remove commits removing the members with the given identities. When
// snapshot.before_remove is on, the group is snapshotted and uploaded first;
// if that fails the removal is not made (ErrSnapshotFailed).
func (a *Agent) Remove(ctx context.Context, id []byte, identities []string, noMerge bool) (CommitResponse, error) {
	done, err := a.begin()
	if err != nil {
		return CommitResponse{}, err
	}
	defer done()
	if len(identities) == 0 {
		return CommitResponse{}, fmt.Errorf("remove: %w: no members", ErrInvalidArgument)
	}
	// Check the members before snapshotting, so a typo costs no upload.
	if err := a.withGroup(ctx, id, func(e *groupEntry) error {
		_, err := leavesOf(e.g, identities)
		return err
	}); err != nil {
		return CommitResponse{}, err
	}
	if err := a.sched.get().BeforeRemove(ctx, id); err != nil {
		return CommitResponse{}, fmt.Errorf("remove from group %x: %w: %w", id, ErrSnapshotFailed, err)
	}
	resp := CommitResponse{GroupID: hex.EncodeToString(id)}
	err = a.withGroup(ctx, id, func(e *groupEntry) error {
		leaves, err := leavesOf(e.g, identities)
		if err != nil {
			return err
		}
		out, err := a.createCommit(ctx, e, id, engine.CommitOptions{Remove: leaves}, noMerge)
		if err != nil {
			return fmt.Errorf("remove: %w", err)
		}
		resp.Commit, resp.Welcome, resp.Epoch = out.Commit, out.Welcome, out.Epoch
		if noMerge {
			return nil
		}
		resp.Merged = true
		a.noteEpoch(ctx, e, id, e.g.Epoch())
		return nil
	})
	if err != nil {
		return CommitResponse{}, err
	}
	a.log.Info("commit created", "op", "remove", "group", resp.GroupID, "epoch", resp.Epoch, "merged", resp.Merged, "members", len(identities))
	return resp, nil
}

// leavesOf maps member identities to leaf indices.
func leavesOf(g *engine.Group, identities []string) ([]uint32, error) {
	members := g.Members()
	var out []uint32
	for _, id := range identities {
		found := false
		for _, m := range members {
			if bytes.Equal(m.Identity, []byte(id)) {
				out = append(out, m.Index)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("member %q of group %x: %w", id, g.GroupID(), ErrUnknownMember)
		}
	}
	return out, nil
}

// Merge merges this member's pending commit.
func (a *Agent) Merge(ctx context.Context, id []byte) (GroupInfo, error) {
	var info GroupInfo
	err := a.workOnGroup(ctx, id, func(e *groupEntry) error {
		if _, err := e.g.MergePendingCommit(ctx); err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		a.noteEpoch(ctx, e, id, e.g.Epoch())
		info = a.describe(e.g)
		return nil
	})
	return info, err
}

// Clear discards this member's pending commit.
func (a *Agent) Clear(ctx context.Context, id []byte) (GroupInfo, error) {
	var info GroupInfo
	err := a.workOnGroup(ctx, id, func(e *groupEntry) error {
		if !e.g.HasPendingCommit() {
			return fmt.Errorf("clear: %w", engine.ErrNoPendingCommit)
		}
		if err := e.g.ClearPendingCommit(ctx); err != nil {
			return fmt.Errorf("clear: %w", err)
		}
		info = a.describe(e.g)
		return nil
	})
	return info, err
}

// Send encrypts application data as a PrivateMessage.
func (a *Agent) Send(ctx context.Context, id, data, aad []byte) (SendResponse, error) {
	resp := SendResponse{GroupID: hex.EncodeToString(id)}
	err := a.workOnGroup(ctx, id, func(e *groupEntry) error {
		msg, err := e.g.Encrypt(ctx, data, aad)
		if err != nil {
			return fmt.Errorf("send: %w", err)
		}
		resp.Message, resp.Epoch = msg, e.g.Epoch()
		return nil
	})
	return resp, err
}

// GroupInfoMessage returns a signed GroupInfo (MLSMessage) of the current
// epoch for external joiners, with the ratchet tree if withTree.
func (a *Agent) GroupInfoMessage(ctx context.Context, id []byte, withTree bool) ([]byte, error) {
	var out []byte
	err := a.workOnGroup(ctx, id, func(e *groupEntry) error {
		var err error
		if out, err = e.g.GroupInfo(ctx, withTree); err != nil {
			return fmt.Errorf("group info: %w", err)
		}
		return nil
	})
	return out, err
}

// Info describes a group.
func (a *Agent) Info(ctx context.Context, id []byte) (GroupInfo, error) {
	var info GroupInfo
	err := a.workOnGroup(ctx, id, func(e *groupEntry) error {
		info = a.describe(e.g)
		return nil
	})
	return info, err
}

// List lists the stored groups.
func (a *Agent) List(ctx context.Context) (GroupList, error) {
	done, err := a.begin()
	if err != nil {
		return GroupList{}, err
	}
	defer done()
	ids, err := a.storedGroups(ctx)
	if err != nil {
		return GroupList{}, err
	}
	out := GroupList{Groups: []GroupSummary{}}
	for _, id := range ids {
		err := a.withGroup(ctx, id, func(e *groupEntry) error {
			out.Groups = append(out.Groups, GroupSummary{GroupID: hex.EncodeToString(id), Epoch: e.g.Epoch(), Members: len(e.g.Members())})
			return nil
		})
		if err != nil && !errors.Is(err, ErrUnknownGroup) {
			return GroupList{}, err
		}
	}
	return out, nil
}

// describe summarizes g. The caller holds the group's mutex.
func (a *Agent) describe(g *engine.Group) GroupInfo {
	info := GroupInfo{
		GroupID:            hex.EncodeToString(g.GroupID()),
		Epoch:              g.Epoch(),
		CipherSuite:        g.CipherSuite(),
		OwnIndex:           g.OwnIndex(),
		Members:            members(g.Members()),
		EpochAuthenticator: hex.EncodeToString(g.EpochAuthenticator()),
		PendingCommit:      g.HasPendingCommit(),
		Restored:           g.Restored(),
	}
	if u, ok := a.uploads.get(g.GroupID()); ok {
		info.LastUpload = &u
	}
	return info
}

func members(ms []engine.Member) []Member {
	out := make([]Member, 0, len(ms))
	for _, m := range ms {
		out = append(out, Member{Index: m.Index, Identity: string(m.Identity)})
	}
	return out
}
