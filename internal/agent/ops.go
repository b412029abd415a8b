package agent

import (
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

// KeyPackage creates a KeyPackage others can add this member with,
// presenting the credential req asks for. key is the call's idempotency
// key (may be empty); the answer is kept in the outbox.
func (a *Agent) KeyPackage(ctx context.Context, key string, req KeyPackageRequest) ([]byte, error) {
	done, err := a.begin()
	if err != nil {
		return nil, err
	}
	defer done()
	client, err := a.keyPackageClient(req)
	if err != nil {
		return nil, err
	}
	hash := requestHash("key_package", u16(req.CipherSuite), flag(req.LastResort), []byte(req.Credential), req.CertChain, req.PrivateKey)
	resp, err := outboxed(ctx, a.outbox, "key_package", key, nil, hash,
		func(c *outboxCall) (KeyPackageResponse, error) {
			var resp KeyPackageResponse
			_, err := client.CreateKeyPackage(ctx, suiteOf(req.CipherSuite), req.LastResort, c.attach(func(o *engine.Outcome) (any, error) {
				resp = KeyPackageResponse{KeyPackage: o.Message}
				return resp, nil
			}))
			if err != nil {
				return KeyPackageResponse{}, fmt.Errorf("create key package: %w", err)
			}
			return resp, nil
		})
	return resp.KeyPackage, err
}

// Create creates a group with this member alone in it; a nil id picks a
// random one. key is the call's idempotency key (may be empty).
func (a *Agent) Create(ctx context.Context, key string, id []byte, cipherSuite uint16) (GroupInfo, error) {
	done, err := a.begin()
	if err != nil {
		return GroupInfo{}, err
	}
	defer done()
	info, err := outboxed(ctx, a.outbox, "create", key, nil, requestHash("create", id, u16(cipherSuite)), func(c *outboxCall) (GroupInfo, error) {
		if len(id) == 0 {
			id = make([]byte, 16)
			if _, err := rand.Read(id); err != nil {
				return GroupInfo{}, fmt.Errorf("random group id: %w", err)
			}
		}
		var info GroupInfo
		err := a.withEntry(id, func(e *groupEntry) error {
			ok, err := a.exists(ctx, id)
			if err != nil {
				return err
			}
			if ok {
				return fmt.Errorf("create group %x: %w", id, engine.ErrGroupExists)
			}
			g, err := a.client.CreateGroup(ctx, suiteOf(cipherSuite), id, c.attach(func(o *engine.Outcome) (any, error) {
				info = groupInfoOf(o)
				return info, nil
			}))
			if err != nil {
				return fmt.Errorf("create group %x: %w", id, err)
			}
			e.g, e.pending = g, nil
			a.noteEpoch(ctx, e, id, g.Epoch())
			return nil
		})
		return info, err
	})
	if err == nil {
		a.log.Info("group created", "group", info.GroupID)
	}
	return info, err
}

// commitCall describes one commit request: what it commits (options,
// computed with the group's mutex held) and what must happen first.
type commitCall struct {
	op      string
	noMerge bool
	request string
	// before, if set, runs before the group is locked (the snapshot
	// before a removal).
	before func(ctx context.Context) error
	// options returns what to commit.
	options func(g *engine.Group) (engine.CommitOptions, error)
}

// commit creates a commit and merges it unless noMerge, storing the answer
// in the outbox.
func (a *Agent) commit(ctx context.Context, key string, id []byte, cc commitCall) (CommitResponse, error) {
	resp, err := outboxed(ctx, a.outbox, "commit", key, nil, cc.request, func(c *outboxCall) (CommitResponse, error) {
		if cc.before != nil {
			if err := cc.before(ctx); err != nil {
				return CommitResponse{}, err
			}
		}
		var resp CommitResponse
		err := a.withGroup(ctx, id, func(e *groupEntry) error {
			o, err := cc.options(e.g)
			if err != nil {
				return err
			}
			if err := a.createCommit(ctx, e, o, cc.noMerge, c, &resp); err != nil {
				return fmt.Errorf("%s: %w", cc.op, err)
			}
			if !cc.noMerge {
				a.noteEpoch(ctx, e, id, e.g.Epoch())
			}
			return nil
		})
		return resp, err
	})
	if err != nil {
		return CommitResponse{}, err
	}
	a.log.Info("commit created", "op", cc.op, "group", resp.GroupID, "epoch", resp.Epoch, "merged", resp.Merged)
	return resp, nil
}

// fixed returns commit options that do not depend on the group.
func fixed(o engine.CommitOptions) func(*engine.Group) (engine.CommitOptions, error) {
	return func(*engine.Group) (engine.CommitOptions, error) { return o, nil }
}

// Add commits adding the members of the KeyPackages; the response carries
// the Welcome for them, and with noTree the ratchet tree the Welcome then
// leaves out. key is the call's idempotency key (may be empty).
func (a *Agent) Add(ctx context.Context, key string, id []byte, keyPackages [][]byte, noMerge, noTree bool) (CommitResponse, error) {
	done, err := a.begin()
	if err != nil {
		return CommitResponse{}, err
	}
	defer done()
	if len(keyPackages) == 0 {
		return CommitResponse{}, fmt.Errorf("add: %w: no key packages", ErrInvalidArgument)
	}
	req := requestHash("add", append([][]byte{id, flag(noMerge), flag(noTree)}, keyPackages...)...)
	return a.commit(ctx, key, id, commitCall{op: "add", noMerge: noMerge, request: req, options: fixed(engine.CommitOptions{Add: keyPackages, NoRatchetTree: noTree})})
}

// Update commits a self-update (fresh leaf and path keys, a new epoch).
// key is the call's idempotency key (may be empty).
func (a *Agent) Update(ctx context.Context, key string, id []byte, noMerge bool) (CommitResponse, error) {
	done, err := a.begin()
	if err != nil {
		return CommitResponse{}, err
	}
	defer done()
	return a.commit(ctx, key, id, commitCall{op: "update", noMerge: noMerge, request: requestHash("update", id, flag(noMerge)),
		options: fixed(engine.CommitOptions{SelfUpdate: true})})
}

// Remove commits removing members, named by identity (req.Members) or by
// leaf index (req.Leaves). An identity that holds several leaves (a stale
// leaf beside a re-joined one) is refused unless req.AllLeaves. When
// snapshot.before_remove is on, the group is snapshotted and uploaded
// first; if that fails the removal is not made (ErrSnapshotFailed). key is
// the call's idempotency key (may be empty).
func (a *Agent) Remove(ctx context.Context, key string, id []byte, req RemoveRequest) (CommitResponse, error) {
	done, err := a.begin()
	if err != nil {
		return CommitResponse{}, err
	}
	defer done()
	if len(req.Members) == 0 && len(req.Leaves) == 0 {
		return CommitResponse{}, fmt.Errorf("remove: %w: no members", ErrInvalidArgument)
	}
	parts := [][]byte{id, flag(req.NoMerge), flag(req.AllLeaves)}
	for _, m := range req.Members {
		parts = append(parts, []byte(m))
	}
	for _, l := range req.Leaves {
		parts = append(parts, fmt.Append(nil, "leaf:", l))
	}
	options := func(g *engine.Group) (engine.CommitOptions, error) {
		leaves, err := leavesToRemove(g, req)
		return engine.CommitOptions{Remove: leaves}, err
	}
	before := func(ctx context.Context) error {
		// Check the members first, so a typo costs no upload.
		if err := a.withGroup(ctx, id, func(e *groupEntry) error {
			_, err := leavesToRemove(e.g, req)
			return err
		}); err != nil {
			return err
		}
		if err := a.sched.get().BeforeRemove(ctx, id); err != nil {
			return fmt.Errorf("remove from group %x: %w: %w", id, ErrSnapshotFailed, err)
		}
		return nil
	}
	return a.commit(ctx, key, id, commitCall{op: "remove", noMerge: req.NoMerge, request: requestHash("remove", parts...), before: before, options: options})
}

// leavesToRemove maps a removal request to leaf indices: every leaf named,
// and the leaves of every identity named (as the API shows identities,
// [displayIdentity]) — one each, or all of them with
// AllLeaves.
func leavesToRemove(g *engine.Group, req RemoveRequest) ([]uint32, error) {
	members := g.Members()
	seen := map[uint32]bool{}
	var out []uint32
	add := func(l uint32) {
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	for _, l := range req.Leaves {
		found := false
		for _, m := range members {
			found = found || m.Index == l
		}
		if !found {
			return nil, fmt.Errorf("leaf %d of group %x holds no member: %w", l, g.GroupID(), ErrUnknownMember)
		}
		add(l)
	}
	for _, id := range req.Members {
		var held []uint32
		for _, m := range members {
			if displayIdentity(m.Identity) == id {
				held = append(held, m.Index)
			}
		}
		switch {
		case len(held) == 0:
			return nil, fmt.Errorf("member %q of group %x: %w", id, g.GroupID(), ErrUnknownMember)
		case len(held) > 1 && !req.AllLeaves:
			return nil, fmt.Errorf("remove: %w: member %q holds %d leaves %v (a stale leaf beside a re-joined one?): name the leaf to remove (leaves / --leaf N) or remove them all (all_leaves / --all-leaves)",
				ErrInvalidArgument, id, len(held), held)
		}
		for _, l := range held {
			add(l)
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

// Send encrypts application data as a PrivateMessage; the message is
// stored in the outbox with the ratchet step. key is the call's
// idempotency key (may be empty).
func (a *Agent) Send(ctx context.Context, key string, id, data, aad []byte) (SendResponse, error) {
	done, err := a.begin()
	if err != nil {
		return SendResponse{}, err
	}
	defer done()
	return outboxed(ctx, a.outbox, "send", key, nil, requestHash("send", id, data, aad), func(c *outboxCall) (SendResponse, error) {
		var resp SendResponse
		err := a.withGroup(ctx, id, func(e *groupEntry) error {
			_, err := e.g.Encrypt(ctx, data, aad, c.attach(func(o *engine.Outcome) (any, error) {
				resp = SendResponse{GroupID: hex.EncodeToString(id), Epoch: o.Epoch, Message: o.Message}
				return resp, nil
			}))
			if err != nil {
				return fmt.Errorf("send: %w", err)
			}
			return nil
		})
		return resp, err
	})
}

// GroupInfoMessage returns a signed GroupInfo (MLSMessage) of the current
// epoch for external joiners, with the ratchet tree in it if withTree,
// else beside it.
func (a *Agent) GroupInfoMessage(ctx context.Context, id []byte, withTree bool) (GroupInfoResponse, error) {
	var out GroupInfoResponse
	err := a.workOnGroup(ctx, id, func(e *groupEntry) error {
		var err error
		if out.GroupInfo, err = e.g.GroupInfo(ctx, withTree); err != nil {
			return fmt.Errorf("group info: %w", err)
		}
		if !withTree {
			if out.RatchetTree, err = e.g.RatchetTree(ctx); err != nil {
				return fmt.Errorf("group info: %w", err)
			}
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
		out = append(out, memberOf(m))
	}
	return out
}
